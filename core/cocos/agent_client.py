"""The participant's client for ``agent.AgentService`` (COCOS-PROTOCOL.md §2-§5, §11, §14).

Uploads stream from disk in 1 MiB messages (memory stays flat whatever the file size),
downloads stream into a temporary file that is renamed only when complete, and every agent
refusal becomes a typed error from ``core.cocos.errors`` carrying the agent's own text.
Cancelling the awaiting task cancels the RPC and stops reading the file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any

import grpc

from core.cocos.channels import ChannelFactory
from core.cocos.errors import ResultsNotReady, TransferIncomplete, map_agent_error
from core.cocos.progress import (
    PartialFile,
    Progress,
    ProgressTracker,
    check_upload_file,
    check_zip,
    read_chunks,
)
from core.errors import BadInput, Refused
from core.protowire import ProtobufWireError, bytes_field, expect_int, iter_fields
from proto.agent import agent_pb2, agent_pb2_grpc

__all__ = ["ALGO_TYPES", "AgentClient", "AttestationType", "Signer"]

_log = logging.getLogger(__name__)

#: role -> std-b64 signature over the role (core.keys: Keystore.sign_role bound to a key name)
Signer = Callable[[str], str]

ALGO_TYPES = ("bin", "python", "wasm", "docker")
ROLE_ALGORITHM, ROLE_DATA, ROLE_CONSUMER = "algorithm-provider", "data-provider", "consumer"
MAX_TEE_NONCE, MAX_VTPM_NONCE = 64, 32
#: an EAT token is a few KiB; this only stops a misbehaving agent from filling memory
MAX_EVIDENCE = 16 * 1024 * 1024
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_SERVING = 1


class AttestationType(IntEnum):
    """``AttestationRequest.type`` (§3.4)."""

    SNP = 0
    VTPM = 1
    SNP_VTPM = 2
    AZURE = 3
    TDX = 4
    NOCC = 5


class AgentClient:
    """One agent, reached through ``channel`` or ``target`` + ``transport``.

    ``signer`` produces the role signature for Algo, Data and Result. ``timeout`` (seconds)
    bounds the short calls (attestation, health); transfers have no deadline because their
    length depends on the file, and cancelling the task is how to stop them.
    """

    def __init__(self, channel: grpc.aio.Channel | None = None, *, target: str | None = None,
                 transport: ChannelFactory | None = None, signer: Signer | None = None,
                 timeout: float | None = 60.0) -> None:
        if (channel is None) == (target is None):
            raise TypeError("give either a channel or a target (with its transport)")
        if target is not None and transport is None:
            raise TypeError("a target needs a transport, e.g. PlainTransport() or TlsTransport(ca_pem)")
        self._channel = channel
        self._owns_channel = channel is None
        self._target = target or "the agent"
        self._transport = transport
        self._signer = signer
        self._timeout = timeout
        self._signatures: dict[str, str] = {}

    async def __aenter__(self) -> AgentClient:
        self._stub()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_channel and self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()

    # --- uploads ------------------------------------------------------------------------

    async def upload_algorithm(self, path: str | Path, *, algo_type: str, algo_args: Sequence[str] = (),
                               requirements: str | Path | None = None, progress: Progress | None = None) -> None:
        """Stream ``requirements`` (if any) then the algorithm as role ``algorithm-provider``."""
        algorithm = Path(path)
        files = [(Path(requirements), "requirements")] if requirements is not None else []
        files.append((algorithm, "algorithm"))
        sizes = [check_upload_file(file, f"{field} file") for file, field in files]
        if algo_type not in ALGO_TYPES:
            # The agent crashes without algo_type (§14 #1), so it is always sent and always valid.
            raise BadInput(f"algorithm type {algo_type!r} is not one of {', '.join(ALGO_TYPES)}")
        if isinstance(algo_args, str):
            raise BadInput("algo_args must be a list of arguments, not one string")
        metadata = (*self._signed(ROLE_ALGORITHM), ("algo_type", algo_type),
                    *(("algo_args", _metadata_text(arg, "algorithm argument")) for arg in algo_args))
        tracker = ProgressTracker(sum(sizes), progress)

        async def requests() -> AsyncIterator[agent_pb2.AlgoRequest]:
            for file, field in files:
                async for chunk in read_chunks(file):
                    yield agent_pb2.AlgoRequest(**{field: chunk})
                    tracker.add(len(chunk))

        tracker.start()
        await self._stream_unary(self._stub().Algo, requests(), metadata, f"upload algorithm {algorithm.name}")

    async def upload_dataset(self, path: str | Path, *, filename: str, decompress: bool = False,
                             progress: Progress | None = None) -> None:
        """Stream a dataset as role ``data-provider``; ``filename`` exactly as in the manifest."""
        dataset = Path(path)
        size = check_upload_file(dataset, "dataset file")
        if not isinstance(filename, str) or not filename:
            raise BadInput("the dataset needs its file name exactly as written in the manifest")
        if decompress:
            check_zip(dataset)
        metadata = (*self._signed(ROLE_DATA), ("decompress", "true" if decompress else "false"))
        tracker = ProgressTracker(size, progress)

        async def requests() -> AsyncIterator[agent_pb2.DataRequest]:
            async for chunk in read_chunks(dataset):
                # The agent keeps the last non-empty filename, so every chunk carries it (§3.1).
                yield agent_pb2.DataRequest(dataset=chunk, filename=filename)
                tracker.add(len(chunk))

        tracker.start()
        await self._stream_unary(self._stub().Data, requests(), metadata, f"upload dataset {filename}")

    async def _stream_unary(self, method: Any, requests: AsyncIterator[Any], metadata: tuple[tuple[str, str], ...],
                            operation: str) -> None:
        failures: list[BaseException] = []
        call = method(_recording(requests, failures), metadata=metadata)
        try:
            await call
        except asyncio.CancelledError:
            call.cancel()
            task = asyncio.current_task()
            # grpc cancels the call when our request iterator raises; surface that error instead.
            if failures and (task is None or task.cancelling() == 0):
                raise failures[0] from None
            raise
        except grpc.aio.AioRpcError as error:
            if failures:
                raise failures[0] from None
            raise map_agent_error(error, operation=operation, target=self._target) from None

    # --- result ------------------------------------------------------------------------

    async def download_result(self, dest_path: str | Path, *, progress: Progress | None = None,
                              poll_interval: float = 3.0, max_wait: float | None = None) -> Path:
        """Fetch the result zip as role ``consumer`` into ``dest_path``, polling until it is ready.

        Raises ResultsNotReady once ``max_wait`` seconds have passed, ComputationFailed when
        the run failed (its message is the run error).
        """
        dest = Path(dest_path)
        metadata = self._signed(ROLE_CONSUMER)
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        while True:
            try:
                return await self._download_once(dest, metadata, progress)
            except ResultsNotReady as not_ready:
                if deadline is not None and loop.time() + poll_interval > deadline:
                    raise ResultsNotReady(
                        f"download result: the computation has not finished after {max_wait:g} s; "
                        "try again later", grpc_code=not_ready.grpc_code,
                        agent_message=not_ready.agent_message) from None
                _log.debug("results not ready; polling again in %s s", poll_interval)
                await asyncio.sleep(poll_interval)

    async def _download_once(self, dest: Path, metadata: tuple[tuple[str, str], ...],
                             progress: Progress | None) -> Path:
        call = self._stub().Result(agent_pb2.ResultRequest(), metadata=metadata)
        partial = PartialFile(dest)
        try:
            total = _file_size(await call.initial_metadata())
            tracker = ProgressTracker(total, progress)
            await partial.open()
            async for response in call:
                if tracker.done == 0:
                    tracker.start()
                await partial.write(response.file)
                tracker.add(len(response.file))
            if tracker.done == 0:
                tracker.start()  # an empty result is zero messages (§3.5)
            _check_total(tracker.done, total, "result")
            return await partial.commit()
        except grpc.aio.AioRpcError as error:
            partial.discard()
            raise map_agent_error(error, operation="download result", target=self._target) from None
        except BaseException:
            partial.discard()
            call.cancel()
            raise

    # --- attestation and health ------------------------------------------------------------

    async def attestation(self, tee_nonce: bytes, vtpm_nonce: bytes,
                          type: AttestationType = AttestationType.SNP) -> bytes:  # noqa: A002 - the proto's name
        """The agent's EAT token for these nonces (the agent zero-pads them to 64 and 32 bytes)."""
        kind = _attestation_type(type)
        _check_nonce(tee_nonce, MAX_TEE_NONCE, "TEE nonce", "malformed report data")
        _check_nonce(vtpm_nonce, MAX_VTPM_NONCE, "vTPM nonce", "malformed vTPM nonce")
        request = agent_pb2.AttestationRequest(teeNonce=bytes(tee_nonce), vtpmNonce=bytes(vtpm_nonce), type=int(kind))
        call = self._stub().Attestation(request, timeout=self._timeout)
        parts: list[bytes] = []
        received = 0
        try:
            total = _file_size(await call.initial_metadata())
            async for response in call:
                received += len(response.file)
                if received > MAX_EVIDENCE:
                    raise BadInput(f"the agent sent more than {MAX_EVIDENCE} bytes of attestation evidence; "
                                   "this is not an EAT token")
                parts.append(response.file)
        except grpc.aio.AioRpcError as error:
            raise map_agent_error(error, operation="attestation", target=self._target) from None
        except BaseException:
            call.cancel()
            raise
        _check_total(received, total, "attestation token")
        return b"".join(parts)

    async def health(self, service: str = "agent") -> bool:
        """Whether ``grpc.health.v1.Health/Check`` reports ``service`` as SERVING.

        An unreachable agent is simply not healthy; the reason goes to the debug log.
        """
        check = self._stub_channel().unary_unary(_HEALTH_CHECK, request_serializer=None, response_deserializer=None)
        try:
            raw = await check(_health_request(service), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            _log.debug("health check of %s failed: %s %s", self._target, error.code(), error.details())
            return False
        return _health_status(raw) == _SERVING

    # --- plumbing ------------------------------------------------------------------------

    def _stub_channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            assert self._transport is not None  # checked in __init__
            self._channel = self._transport.open(self._target)
        return self._channel

    def _stub(self) -> agent_pb2_grpc.AgentServiceStub:
        return agent_pb2_grpc.AgentServiceStub(self._stub_channel())

    def _signed(self, role: str) -> tuple[tuple[str, str], ...]:
        if role not in self._signatures:
            if self._signer is None:
                raise Refused(f"this step needs the {role} signature, but no participant key was chosen; "
                              "pick the key declared in the manifest", code="no-signer")
            self._signatures[role] = _metadata_text(self._signer(role), "signature")
        return (("signature", self._signatures[role]), ("user-id", role))


async def _recording(requests: AsyncIterator[Any], failures: list[BaseException]) -> AsyncIterator[Any]:
    """Pass ``requests`` through, remembering an error grpc would otherwise turn into a cancel."""
    try:
        async for request in requests:
            yield request
    except Exception as error:  # noqa: BLE001 - re-raised by the caller
        failures.append(error)
        raise


def _metadata_text(value: object, what: str) -> str:
    # gRPC carries text metadata as printable ASCII only.
    if not isinstance(value, str) or not all(" " <= ch <= "~" for ch in value):
        raise BadInput(f"the {what} {value!r} must be printable ASCII text to travel as gRPC metadata")
    return value


def _file_size(metadata: Any) -> int:
    """The ``file-size`` header (§3.3); 0 when absent or unreadable."""
    for key, value in metadata or ():
        if key == "file-size":
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            if text.isascii() and text.isdigit():
                return int(text)
            _log.warning("ignoring a file-size header that is not a number: %r", text)
    return 0


def _check_total(received: int, announced: int, what: str) -> None:
    if announced and received != announced:
        raise TransferIncomplete(f"the {what} arrived with {received} of the {announced} bytes the agent "
                                 "announced; download it again")


def _check_nonce(value: bytes, limit: int, what: str, agent_text: str) -> None:
    if not isinstance(value, (bytes, bytearray)):
        raise BadInput(f"the {what} must be bytes, not {type(value).__name__}")
    if len(value) > limit:
        raise BadInput(f"the {what} is {len(value)} bytes; the agent accepts at most {limit} "
                       f"({agent_text}, expect less or equal to {limit} bytes)")


def _attestation_type(value: object) -> AttestationType:
    try:
        kind = AttestationType(value)  # type: ignore[call-arg]
    except ValueError:
        raise BadInput(f"{value!r} is not an attestation type; use one of "
                       f"{', '.join(t.name for t in AttestationType if t is not AttestationType.NOCC)}") from None
    if kind is AttestationType.NOCC:
        raise BadInput("a CVM without confidential computing has no attestation (the agent answers "
                       "'invalid attestation type'); choose SNP, vTPM, SNP-vTPM, Azure or TDX")
    return kind


def _health_request(service: str) -> bytes:
    """``HealthCheckRequest{service}``: field 1, written even when empty (as the agent has always seen it)."""
    return bytes_field(1, service.encode("utf-8"), keep_empty=True)


def _health_status(data: bytes) -> int:
    """``HealthCheckResponse.status`` (field 1, varint); 0 (UNKNOWN) when absent or malformed."""
    what = "health-check answer"
    status = 0
    try:
        for field in iter_fields(data, what):
            if field.number == 1:
                status = expect_int(field, what, varint_only=True)  # the last one wins
    except ProtobufWireError as error:
        _log.warning("unreadable health-check answer (%s)", error)
        return 0
    return status
