"""Typed errors of the collateral store, the online fetchers and the offline packs."""

from __future__ import annotations

from core.errors import BadInput, EvidenceError, Refused


class CollateralFetchError(Refused):
    """AMD KDS or Intel PCS did not hand out what was asked for (offline, 404, rate limit ...)."""

    code = "collateral-fetch"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.url = url
        self.status = status


class CollateralDataError(EvidenceError):
    """Bytes that do not parse as the collateral kind they claim to be."""

    code = "collateral-data"


class CollateralCacheError(BadInput):
    """The collateral cache directory cannot be read or written."""

    code = "collateral-cache"


class CollateralPackError(BadInput):
    """A collateral pack that is damaged, tampered with, truncated or unsafe to read."""

    code = "collateral-pack"

    def __init__(self, message: str, *, member: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.member = member
