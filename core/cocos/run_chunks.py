"""Chunked delivery of the manifest over ``cvms.Service/Process`` (COCOS-PROTOCOL.md §8.3).

The CVMS server serialises ``ComputationRunReq``, sends it in 1 MiB ``RunReqChunks`` with the
computation id and ``is_last=false``, then one message with empty data and ``is_last=true``.
The agent appends chunks per id, parses on ``is_last`` and drops a buffer idle for 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from core.cocos.computation import ManifestError
from proto.cvms import cvms_pb2

CHUNK_SIZE = 1024 * 1024
IDLE_TIMEOUT_S = 30.0
#: far above any real manifest; stops a misbehaving server from filling memory
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def run_request_chunks(
    msg: cvms_pb2.ComputationRunReq, chunk_size: int = CHUNK_SIZE
) -> Iterator[cvms_pb2.ServerStreamMessage]:
    """The ``ServerStreamMessage``s that carry ``msg`` in order, ending with the empty last one."""
    if not isinstance(msg, cvms_pb2.ComputationRunReq):
        raise TypeError(f"expected cvms.ComputationRunReq, got {type(msg).__name__}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    data = msg.SerializeToString(deterministic=True)
    for start in range(0, len(data), chunk_size):
        piece = cvms_pb2.RunReqChunks(data=data[start : start + chunk_size], id=msg.id, is_last=False)
        yield cvms_pb2.ServerStreamMessage(runReqChunks=piece)
    yield cvms_pb2.ServerStreamMessage(runReqChunks=cvms_pb2.RunReqChunks(id=msg.id, is_last=True))


@dataclass(slots=True)
class _Buffer:
    data: bytearray
    last_seen: float


class RunRequestAssembler:
    """The receiving side: feed chunks, get the parsed manifest when its last chunk arrives."""

    def __init__(
        self,
        *,
        idle_timeout: float = IDLE_TIMEOUT_S,
        max_bytes: int = MAX_MANIFEST_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._idle_timeout = idle_timeout
        self._max_bytes = max_bytes
        self._clock = clock
        self._buffers: dict[str, _Buffer] = {}

    def pending_ids(self) -> tuple[str, ...]:
        return tuple(self._buffers)

    def add(self, chunk: cvms_pb2.RunReqChunks) -> cvms_pb2.ComputationRunReq | None:
        """Append one chunk; returns the manifest once ``is_last`` arrives, else None."""
        now = self._clock()
        self._drop_idle(now)
        buffer = self._buffers.setdefault(chunk.id, _Buffer(bytearray(), now))
        buffer.last_seen = now
        if len(buffer.data) + len(chunk.data) > self._max_bytes:
            del self._buffers[chunk.id]
            raise ManifestError(
                f"the manifest for computation {chunk.id!r} exceeds {self._max_bytes} bytes; it was dropped"
            )
        buffer.data += chunk.data
        if not chunk.is_last:
            return None
        data = bytes(self._buffers.pop(chunk.id).data)
        try:
            return cvms_pb2.ComputationRunReq.FromString(data)
        except DecodeError as error:
            raise ManifestError(
                f"received manifest may be corrupted ({error}); ask the server to resend it"
            ) from None

    def _drop_idle(self, now: float) -> None:
        for key in [k for k, b in self._buffers.items() if now - b.last_seen > self._idle_timeout]:
            del self._buffers[key]


def assemble_run_request(
    messages: Iterable[cvms_pb2.RunReqChunks | cvms_pb2.ServerStreamMessage],
) -> cvms_pb2.ComputationRunReq:
    """Reassemble one manifest from a finished sequence of chunks (or stream messages)."""
    assembler = RunRequestAssembler()
    for message in messages:
        if isinstance(message, cvms_pb2.ServerStreamMessage):
            if message.WhichOneof("message") != "runReqChunks":
                continue
            message = message.runReqChunks
        manifest = assembler.add(message)
        if manifest is not None:
            return manifest
    raise ManifestError("the manifest stream ended before its last chunk (is_last); ask the server to resend it")
