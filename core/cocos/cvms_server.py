"""A CVMS server: agents dial in, get their manifest and stream back events and logs (§8).

The agent is the gRPC client of ``cvms.Service/Process`` and names itself with the ``job-id``
metadata (its ``AGENT_CVM_ID``); a second stream with ``connection-type: log-forwarder``
carries only logs. Each agent stream gets the registered manifest first (whole, or in 1 MiB
``RunReqChunks`` ending with an empty ``is_last`` message), then whatever control message
the owner sends (stop, state request, disconnect). A reconnecting agent gets the manifest
again; the agent ignores it unless it is waiting for one (§8.1).

With a workspace, what agents report is kept there: events, run and stop answers and states in
the audit log (``cvms.event``, ``cvms.run``, ``cvms.stopped``, ``cvms.state``), log lines in
``results/<id>/agent.log``, and the start-up attestation and Azure token bytes the agent sends
(§8.1) as ``results/<id>/cvms-attestation-<n>.eat``, audited as ``cvms.attestation``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import grpc

from core.cocos.computation import Computation
from core.cocos.manifest import to_run_request
from core.cocos.run_chunks import CHUNK_SIZE, run_request_chunks
from core.errors import BadInput, NotFound, PrismError, Refused
from core.fsio import atomic_write
from proto.cvms import cvms_pb2, cvms_pb2_grpc

if TYPE_CHECKING:
    from core.workspace.workspace import Workspace

__all__ = ["ComputationRecord", "CvmsServer", "MessageHook"]

_log = logging.getLogger(__name__)

#: called for every message an agent sends, with the computation it belongs to
MessageHook = Callable[[str, cvms_pb2.ClientStreamMessage], None]
MANIFEST_MODES = ("auto", "whole", "chunked")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_DETAILS_LIMIT = 4096
_END = object()  # ends an agent stream's writer


@dataclass(slots=True)
class ComputationRecord:
    """Everything agents reported for one computation, in arrival order."""

    computation_id: str
    events: list[cvms_pb2.AgentEvent] = field(default_factory=list)
    logs: list[cvms_pb2.AgentLog] = field(default_factory=list)
    run_responses: list[cvms_pb2.RunResponse] = field(default_factory=list)
    stop_responses: list[cvms_pb2.StopComputationResponse] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    attestations: list[cvms_pb2.AttestationResponse] = field(default_factory=list)
    azure_tokens: list[cvms_pb2.azureAttestationToken] = field(default_factory=list)
    connections: int = 0  # agent (not log-forwarder) streams opened so far
    manifests_sent: int = 0
    connected: bool = False


@dataclass(slots=True)
class _Registration:
    manifest: cvms_pb2.ComputationRunReq
    record: ComputationRecord
    queue: asyncio.Queue[Any] | None = None  # the current agent stream's outbox


class CvmsServer:
    """Serves ``cvms.Service/Process`` on ``host:port`` (port 0 picks a free one).

    ``credentials`` from ``core.cocos.channels.server_credentials`` give TLS or mTLS; without
    them the server speaks plain h2c. ``manifest_mode`` ``auto`` sends the manifest whole when
    it fits in one chunk and chunked otherwise.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, credentials: grpc.ServerCredentials | None = None,
                 workspace: Workspace | None = None, on_message: MessageHook | None = None,
                 manifest_mode: str = "auto", chunk_size: int = CHUNK_SIZE) -> None:
        if manifest_mode not in MANIFEST_MODES:
            raise BadInput(f"manifest mode {manifest_mode!r} is not one of {', '.join(MANIFEST_MODES)}")
        self._address = f"{host}:{port}"
        self._credentials = credentials
        self._workspace = workspace
        self._on_message = on_message
        self._mode = manifest_mode
        self._chunk_size = chunk_size
        self._jobs: dict[str, str] = {}  # job-id -> computation id
        self._registrations: dict[str, _Registration] = {}
        self._server: grpc.aio.Server | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> int:
        """Start listening; returns the bound port."""
        if self._server is not None:
            raise Refused("the CVMS server is already running")
        server = grpc.aio.server()
        cvms_pb2_grpc.add_ServiceServicer_to_server(_Servicer(self), server)
        try:
            if self._credentials is not None:
                self.port = server.add_secure_port(self._address, self._credentials)
            else:
                self.port = server.add_insecure_port(self._address)
        except RuntimeError as error:
            raise Refused(f"cannot listen on {self._address} ({error}); choose another port") from None
        await server.start()
        self._server = server
        _log.info("CVMS server listening on port %d", self.port)
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            for registration in self._registrations.values():
                if registration.queue is not None:
                    registration.queue.put_nowait(_END)
            await server.stop(grace)

    async def __aenter__(self) -> CvmsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- computations -----------------------------------------------------------------------

    def register(self, computation_id: str, manifest: cvms_pb2.ComputationRunReq | Computation, *,
                 job_id: str | None = None) -> ComputationRecord:
        """Serve ``manifest`` to the agent whose ``job-id`` is ``job_id`` (default: the computation id)."""
        run_request = to_run_request(manifest) if isinstance(manifest, Computation) else manifest
        if not isinstance(run_request, cvms_pb2.ComputationRunReq):
            raise BadInput(f"expected a Computation or cvms.ComputationRunReq, got {type(manifest).__name__}")
        if run_request.id != computation_id:
            raise BadInput(f"the manifest's id is {run_request.id!r} but it is registered as {computation_id!r}; "
                           "the agent reports events under the manifest's id, so they must match")
        if _SAFE_ID.fullmatch(computation_id) is None:
            raise BadInput(f"computation id {computation_id!r} must be 1-128 letters, digits, '.', '_' or '-' "
                           "(it names the folder of the agent's log)")
        job = job_id or computation_id
        if self._jobs.get(job, computation_id) != computation_id:
            raise Refused(f"job-id {job!r} already belongs to computation {self._jobs[job]!r}",
                          code="cvms-job-taken")
        previous = self._registrations.get(computation_id)
        record = previous.record if previous else ComputationRecord(computation_id)
        self._registrations[computation_id] = _Registration(run_request, record,
                                                            previous.queue if previous else None)
        self._jobs[job] = computation_id
        return record

    def record(self, computation_id: str) -> ComputationRecord:
        return self._registration(computation_id).record

    async def stop_computation(self, computation_id: str) -> None:
        """Ask the connected agent to stop (it wipes its inputs and answers ``stopComputationRes``)."""
        stop = cvms_pb2.StopComputation(computation_id=computation_id)
        self._outbox(computation_id).put_nowait(cvms_pb2.ServerStreamMessage(stopComputation=stop))

    async def request_state(self, computation_id: str) -> None:
        """Ask the agent for its state; the answer lands in ``record(...).states``."""
        request = cvms_pb2.AgentStateReq(id=computation_id)
        self._outbox(computation_id).put_nowait(cvms_pb2.ServerStreamMessage(agentStateReq=request))

    async def disconnect(self, computation_id: str) -> None:
        """Tell the agent to disconnect, then close its stream."""
        outbox = self._outbox(computation_id)
        outbox.put_nowait(cvms_pb2.ServerStreamMessage(disconnectReq=cvms_pb2.DisconnectReq(id=computation_id)))
        outbox.put_nowait(_END)

    async def wait_for(self, computation_id: str, predicate: Callable[[ComputationRecord], bool],
                       timeout: float = 10.0) -> ComputationRecord:
        """The record once ``predicate`` holds; TimeoutError after ``timeout`` seconds."""
        record = self.record(computation_id)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(record)), timeout)
        return record

    # --- internals --------------------------------------------------------------------------

    def _registration(self, computation_id: str) -> _Registration:
        try:
            return self._registrations[computation_id]
        except KeyError:
            raise NotFound(f"no computation {computation_id!r} is registered with this CVMS server") from None

    def _outbox(self, computation_id: str) -> asyncio.Queue[Any]:
        registration = self._registration(computation_id)
        if registration.queue is None:
            raise Refused(f"no agent is connected for computation {computation_id!r}; wait for it to dial in",
                          code="cvms-agent-not-connected")
        return registration.queue

    def _manifest_messages(self, manifest: cvms_pb2.ComputationRunReq) -> list[cvms_pb2.ServerStreamMessage]:
        whole = self._mode == "whole" or (self._mode == "auto" and manifest.ByteSize() <= self._chunk_size)
        if whole:
            return [cvms_pb2.ServerStreamMessage(runReq=manifest)]
        return list(run_request_chunks(manifest, self._chunk_size))

    async def _serve(self, requests: AsyncIterator[cvms_pb2.ClientStreamMessage],
                     context: grpc.aio.ServicerContext) -> None:
        metadata = {m.key: m.value for m in context.invocation_metadata() or ()}
        job = metadata.get("job-id", "")
        if not job:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "missing job-id metadata")
        computation_id = self._jobs.get(job)
        if computation_id is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no computation registered for job-id {job}")
        assert computation_id is not None
        if metadata.get("connection-type") == "log-forwarder":
            await self._consume(requests, computation_id)
            return
        await self._serve_agent(requests, context, computation_id)

    async def _serve_agent(self, requests: AsyncIterator[cvms_pb2.ClientStreamMessage],
                           context: grpc.aio.ServicerContext, computation_id: str) -> None:
        registration = self._registrations[computation_id]
        if registration.queue is not None:
            registration.queue.put_nowait(_END)  # a reconnect replaces the old stream
        outbox: asyncio.Queue[Any] = asyncio.Queue()
        registration.queue = outbox
        record = registration.record
        record.connections += 1
        record.connected = True
        reader = asyncio.create_task(self._consume(requests, computation_id))
        reader.add_done_callback(lambda _: outbox.put_nowait(_END))
        try:
            for message in self._manifest_messages(registration.manifest):
                await context.write(message)
            record.manifests_sent += 1
            await self._notify()
            while (message := await outbox.get()) is not _END:
                await context.write(message)
        finally:
            reader.cancel()
            if registration.queue is outbox:
                registration.queue = None
                record.connected = False
            await self._notify()

    async def _consume(self, requests: AsyncIterator[cvms_pb2.ClientStreamMessage], computation_id: str) -> None:
        try:
            async for message in requests:
                self._store(computation_id, message)
                await self._notify()
        except (grpc.aio.AioRpcError, grpc.RpcError) as error:
            _log.info("agent stream for %s ended: %s", computation_id, error)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _store(self, computation_id: str, message: cvms_pb2.ClientStreamMessage) -> None:
        record = self._registrations[computation_id].record
        kind = message.WhichOneof("message")
        if kind == "agent_log":
            record.logs.append(message.agent_log)
            self._write_log(computation_id, message.agent_log)
        elif kind == "agent_event":
            record.events.append(message.agent_event)
            self._audit("cvms.event", computation_id, _event_details(message.agent_event))
        elif kind == "run_res":
            record.run_responses.append(message.run_res)
            self._audit("cvms.run", computation_id, {"error": message.run_res.error})
        elif kind == "stopComputationRes":
            record.stop_responses.append(message.stopComputationRes)
            self._audit("cvms.stopped", computation_id, {"message": message.stopComputationRes.message})
        elif kind == "agentStateRes":
            record.states.append(message.agentStateRes.state)
            self._audit("cvms.state", computation_id, {"state": message.agentStateRes.state})
        elif kind == "vTPMattestationReport":
            record.attestations.append(message.vTPMattestationReport)
            self._keep_attestation(computation_id, record, "vtpm-report", message.vTPMattestationReport)
        elif kind == "azureAttestationToken":
            record.azure_tokens.append(message.azureAttestationToken)
            self._keep_attestation(computation_id, record, "azure-token", message.azureAttestationToken)
        if self._on_message is not None:
            try:
                self._on_message(computation_id, message)
            except Exception:  # a faulty hook must not cut the agent off
                _log.exception("the CVMS message hook failed for %s", computation_id)

    def _keep_attestation(self, computation_id: str, record: ComputationRecord, kind: str,
                          report: cvms_pb2.AttestationResponse | cvms_pb2.azureAttestationToken) -> None:
        number = len(record.attestations) + len(record.azure_tokens)
        name = self._write_attestation(computation_id, number, report.file)
        self._audit("cvms.attestation", computation_id, {"kind": kind, "cert_serial": report.certSerialNumber,
                                                          "size": len(report.file), "file": name})

    def _write_attestation(self, computation_id: str, number: int, data: bytes) -> str | None:
        """The evidence bytes as ``cvms-attestation-<n>.eat``; never overwrites an earlier one."""
        if self._workspace is None:
            return None
        folder = self._workspace.results_dir / computation_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            while (folder / f"cvms-attestation-{number}.eat").exists():
                number += 1  # an earlier server of this workspace already kept evidence here
            name = f"cvms-attestation-{number}.eat"
            atomic_write(folder / name, data)
        except (PrismError, OSError):
            _log.warning("could not keep the attestation of %s", computation_id, exc_info=True)
            return None
        return name

    def _audit(self, action: str, computation_id: str, details: dict[str, Any]) -> None:
        if self._workspace is None:
            return
        try:
            self._workspace.audit_hook(action, computation_id, details)
        except (PrismError, OSError):  # keep serving the agent; the store reports its own trouble
            _log.warning("could not audit %s for %s", action, computation_id, exc_info=True)

    def _write_log(self, computation_id: str, entry: cvms_pb2.AgentLog) -> None:
        if self._workspace is None:
            return
        folder = self._workspace.results_dir / computation_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / "agent.log").open("a", encoding="utf-8") as handle:
                handle.write(f"{_when(entry)} {entry.level or '-'} {entry.message.rstrip()}\n")
        except OSError:
            _log.warning("could not write the agent log of %s", computation_id, exc_info=True)


def _when(message: cvms_pb2.AgentLog | cvms_pb2.AgentEvent) -> str:
    if not message.HasField("timestamp"):
        return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return message.timestamp.ToDatetime(tzinfo=timezone.utc).isoformat(timespec="milliseconds")


def _event_details(event: cvms_pb2.AgentEvent) -> dict[str, Any]:
    return {
        "event_type": event.event_type,
        "status": event.status,
        "originator": event.originator,
        "time": _when(event),
        "details": event.details[:_DETAILS_LIMIT].decode("utf-8", "replace"),
    }


class _Servicer(cvms_pb2_grpc.ServiceServicer):
    def __init__(self, owner: CvmsServer) -> None:
        self._owner = owner

    async def Process(self, request_iterator: AsyncIterator[cvms_pb2.ClientStreamMessage],  # noqa: N802
                      context: grpc.aio.ServicerContext) -> None:
        await self._owner._serve(request_iterator, context)
