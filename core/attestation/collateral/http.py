"""HTTP GET for collateral: timeouts, a size cap, retry with backoff on rate limits, typed errors.

AMD KDS and Intel PCS both rate-limit (HTTP 429, sometimes 503) and say when to come back in
Retry-After. We honour that, capped so the app never hangs for minutes, and give up with an error
that tells the user what to do next (wait, or verify offline from a collateral pack).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from core.attestation.collateral.errors import CollateralFetchError

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503)
MAX_RESPONSE_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int
    body: bytes
    headers: httpx.Headers


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


class CollateralHttp:
    """GETs through a caller-owned ``httpx.AsyncClient`` (tests pass one with a MockTransport)."""

    def __init__(self, client: httpx.AsyncClient, *, timeout: float = 20.0, attempts: int = 4,
                 backoff: float = 1.0, max_wait: float = 30.0,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.client = client
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock

    async def get(self, url: str, *, not_found: str, accept: str | None = None) -> Fetched:
        """The 200 response to GET ``url``; ``not_found`` is the message for HTTP 404."""
        for attempt in range(1, self.attempts + 1):
            fetched = await self._once(url, accept)
            if fetched.status == 200:
                return fetched
            if fetched.status == 404:
                raise CollateralFetchError(f"{not_found} ({url} answered 404)", url=url, status=404,
                                           code="collateral-not-found")
            if fetched.status in RETRY_STATUSES and attempt < self.attempts:
                wait = self._wait(fetched, attempt)
                log.info("%s answered %d; retrying in %.1f s", host_of(url), fetched.status, wait)
                await self.sleep(wait)
                continue
            raise self._status_error(url, fetched.status)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _wait(self, fetched: Fetched, attempt: int) -> float:
        asked = retry_after_seconds(fetched.headers.get("retry-after"), self.clock())
        wait = asked if asked is not None else self.backoff * (2 ** (attempt - 1))
        return min(wait, self.max_wait)

    async def _once(self, url: str, accept: str | None) -> Fetched:
        headers = {"Accept": accept} if accept else None
        host = host_of(url)
        try:
            async with self.client.stream("GET", url, headers=headers, timeout=self.timeout) as response:
                body = await _read_capped(response, url)
                return Fetched(url, response.status_code, body, response.headers)
        except httpx.TimeoutException:
            raise CollateralFetchError(
                f"{host} did not answer within {self.timeout:g} s ({url}); try again later or use a "
                "collateral pack", url=url, code="collateral-timeout") from None
        except httpx.TransportError as exc:
            raise CollateralFetchError(
                f"cannot reach {host}: are you offline? use a collateral pack ({exc.__class__.__name__}: "
                f"{exc})", url=url, code="collateral-offline") from None

    @staticmethod
    def _status_error(url: str, status: int) -> CollateralFetchError:
        host = host_of(url)
        if status in RETRY_STATUSES:
            message = (f"{host} keeps refusing requests (HTTP {status}, rate limited) for {url}; wait a few "
                       "minutes and try again, or use a collateral pack")
            return CollateralFetchError(message, url=url, status=status, code="collateral-rate-limited")
        return CollateralFetchError(f"{host} answered HTTP {status} for {url}; try again later or use a "
                                    "collateral pack", url=url, status=status)


async def _read_capped(response: httpx.Response, url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_SIZE:
            raise CollateralFetchError(
                f"{host_of(url)} sent more than {MAX_RESPONSE_SIZE // (1024 * 1024)} MiB for {url}; that is "
                "not collateral, so it was refused", url=url, status=response.status_code,
                code="collateral-too-large")
        chunks.append(chunk)
    return b"".join(chunks)
