"""The sandbox agent as its own process: ``python -m core.sandbox.agent_process --env-file FILE ...``.

Like the real agent (COCOS-PROTOCOL.md §1, §8, §10-§11) it dials the CVMS as a gRPC client with
``job-id: <AGENT_CVM_ID>``, waits for the manifest (whole or chunked), and only then starts the
AgentService and the ingress on its forwarded port in the transport the manifest's agent_config
selects. Events and logs go back on the CVMS stream; a broken stream is redialled every few
seconds with the unsent messages kept; SIGTERM stops everything cleanly.

With ``--listen-fd`` the forwarded port is the socket the host bound for this CVM and handed
down: the agent holds it for its whole life and its ingress listens on it only after the
manifest, so the port refuses connections until then and no other process can take it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from core.cocos.computation import Computation
from core.cocos.manifest import RunRequestAssembler, from_run_request
from core.errors import BadInput, PrismError
from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.ingress import Ingress, config_from_agent_config, tee_evidence
from core.sandbox.state import AgentEvent, AgentLog, AgentState, EventListener, LogListener
from core.sandbox.tee import MISBEHAVIOURS, SandboxTee
from proto.agent import agent_pb2_grpc
from proto.cvms import cvms_pb2, cvms_pb2_grpc

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 5.0  # §8.1: the agent redials the CVMS every 5 s
ERR_CORRUPT_MANIFEST = "received manifest may be corrupted"
_SERVING = b"\x08\x01"   # grpc.health.v1.HealthCheckResponse{status: SERVING}


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as the manager writes the agent's ``environment`` file (§10.2)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read the agent environment file {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise BadInput(f"cannot read the agent environment file {path}: it is not UTF-8 text; "
                       "the manager writes KEY=VALUE lines") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{path} line {number} is not KEY=VALUE; the manager writes one setting per line")
        values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """The agent's ``AGENT_CVM_*`` settings plus what the sandbox host adds."""

    cvm_id: str
    cvms_url: str = "localhost:7001"
    client_cert: str = ""   # PEM file paths, as the real agent reads them
    client_key: str = ""
    server_ca: str = ""
    port: int = 7002
    listen_fd: int | None = None  # the host's bound (not listening) socket for ``port``
    tee_dir: str = ""
    work_dir: str = ""
    misbehave: str | None = None
    reconnect_seconds: float = RECONNECT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str], **extra: object) -> AgentSettings:
        if not env.get("AGENT_CVM_ID"):
            raise BadInput("AGENT_CVM_ID is not set; the agent names its CVMS job with it")
        misbehave = extra.get("misbehave") or None
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise BadInput(f"unknown misbehaviour {misbehave!r}; choose one of {', '.join(MISBEHAVIOURS)}")
        return cls(cvm_id=env["AGENT_CVM_ID"], cvms_url=env.get("AGENT_CVM_GRPC_URL") or "localhost:7001",
                   client_cert=env.get("AGENT_CVM_GRPC_CLIENT_CERT", ""),
                   client_key=env.get("AGENT_CVM_GRPC_CLIENT_KEY", ""),
                   server_ca=env.get("AGENT_CVM_GRPC_SERVER_CA_CERTS", ""), **extra)  # type: ignore[arg-type]

    def channel(self) -> grpc.aio.Channel:
        """Plain, TLS (server CA only) or mTLS (plus client cert and key) to the CVMS."""
        if not self.server_ca:
            return grpc.aio.insecure_channel(self.cvms_url)
        try:
            ca = Path(self.server_ca).read_bytes()
            cert = Path(self.client_cert).read_bytes() if self.client_cert else None
            key = Path(self.client_key).read_bytes() if self.client_key else None
        except OSError as exc:
            raise BadInput(f"cannot read the CVMS certificates ({exc.filename}: {exc.strerror})") from None
        credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
        return grpc.aio.secure_channel(self.cvms_url, credentials)


async def _health_check(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    # HealthCheckRequest{service}: SERVING for "" and "agent", as the agent registers them (§11).
    service = request[2:].decode("utf-8", "replace") if request[:1] == b"\x0a" else ""
    if service not in ("", "agent"):
        await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service}")
    return _SERVING


def health_handler() -> grpc.GenericRpcHandler:
    """``grpc.health.v1.Health/Check`` without the grpcio-health-checking package."""
    return grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(_health_check)})


class AgentRuntime:
    """One computation being served: the AgentService on a private loopback port and its ingress."""

    def __init__(self, service: SandboxAgentService, server: grpc.aio.Server, ingress: Ingress | None) -> None:
        self.service, self.server, self.ingress = service, server, ingress

    @classmethod
    async def start(cls, computation: Computation, settings: AgentSettings, tee: SandboxTee,
                    on_event: EventListener, on_log: LogListener) -> AgentRuntime:
        service = SandboxAgentService(computation, tee, work_dir=settings.work_dir or None,
                                      misbehave=settings.misbehave, on_event=on_event, on_log=on_log)
        server = grpc.aio.server()
        agent_pb2_grpc.add_AgentServiceServicer_to_server(service, server)
        server.add_generic_rpc_handlers((health_handler(),))
        upstream = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        runtime = cls(service, server, None)
        sock: socket.socket | None = None
        try:
            config = config_from_agent_config(computation.agent_config)
            evidence = tee_evidence(tee, service.vtpm, misbehave=settings.misbehave)
            sock = _forwarded_socket(settings)
            ingress = Ingress(config, ("127.0.0.1", upstream), evidence=evidence, port=settings.port, sock=sock)
            await ingress.start()
            runtime.ingress = ingress
        except PrismError as exc:
            # Like the real agent: an ingress failure is logged, never reported as a run error (§8.2).
            log.error("the ingress did not start: %s", exc)
            if sock is not None:
                sock.close()  # only this duplicate: the port stays reserved for the agent
        return runtime

    async def stop(self) -> None:
        if self.ingress is not None:
            await self.ingress.stop()
        await self.server.stop(1)


def _forwarded_socket(settings: AgentSettings) -> socket.socket | None:
    """A duplicate of the inherited socket for one ingress, which closes it when it stops.

    The original descriptor stays open in this process, so the port stays reserved between
    computations and is released only when the agent exits.
    """
    if settings.listen_fd is None:
        return None
    try:
        return socket.socket(fileno=os.dup(settings.listen_fd))
    except OSError as exc:
        raise BadInput(f"the forwarded-port socket {settings.listen_fd} from the host is unusable "
                       f"({exc.strerror}); restart the sandbox") from None


def _adopt_socket(fd: int) -> None:
    try:
        os.set_inheritable(fd, False)  # the algorithm's processes must not hold the port
    except OSError as exc:
        raise BadInput(f"the forwarded-port socket {fd} from the host is unusable ({exc.strerror}); "
                       "restart the sandbox") from None


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


class SandboxAgent:
    """The CVMS client loop and the runtime it starts once the manifest arrives."""

    def __init__(self, settings: AgentSettings, tee: SandboxTee) -> None:
        self.settings = settings
        self.tee = tee
        self.runtime: AgentRuntime | None = None
        self._outbox: asyncio.Queue[cvms_pb2.ClientStreamMessage] = asyncio.Queue()
        self._assembler = RunRequestAssembler()
        self._stopping = asyncio.Event()
        self._disconnected = False
        self._session = 0
        self._computation_id = ""

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set() and not self._disconnected:
                session = asyncio.ensure_future(self._dial())
                stopping = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait((session, stopping), return_when=asyncio.FIRST_COMPLETED)
                for task in (session, stopping):
                    task.cancel()
                await asyncio.gather(session, stopping, return_exceptions=True)
                if not self._stopping.is_set() and not self._disconnected:
                    try:
                        await asyncio.wait_for(self._stopping.wait(), self.settings.reconnect_seconds)
                    except asyncio.TimeoutError:
                        pass
            if self._disconnected:
                await self._stopping.wait()  # keep serving participants until told to stop
        finally:
            if self.runtime is not None:
                await self.runtime.stop()

    async def _dial(self) -> None:
        self._session += 1
        try:
            async with self.settings.channel() as channel:
                stub = cvms_pb2_grpc.ServiceStub(channel)
                call = stub.Process(self._outgoing(self._session), metadata=(("job-id", self.settings.cvm_id),))
                async for message in call:
                    await self._handle(message)
        except grpc.aio.AioRpcError as exc:
            log.info("the CVMS stream to %s ended: %s %s", self.settings.cvms_url, exc.code(), exc.details())
        except PrismError as exc:
            log.error("the CVMS stream was closed: %s", exc)

    async def _outgoing(self, session: int) -> AsyncIterator[cvms_pb2.ClientStreamMessage]:
        while session == self._session:
            message = await self._outbox.get()
            if session != self._session:
                self._outbox.put_nowait(message)  # a newer stream sends it
                return
            yield message

    def send(self, **fields: object) -> None:
        self._outbox.put_nowait(cvms_pb2.ClientStreamMessage(**fields))  # type: ignore[arg-type]

    async def _handle(self, message: cvms_pb2.ServerStreamMessage) -> None:
        kind = message.WhichOneof("message")
        if kind == "runReq":
            await self._manifest(message.runReq)
        elif kind == "runReqChunks":
            try:
                request = self._assembler.add(message.runReqChunks)
            except PrismError as exc:
                raise BadInput(str(exc)) from None
            if request is not None:
                await self._manifest(request)
        elif kind == "stopComputation":
            self._stop_computation(message.stopComputation.computation_id)
        elif kind == "agentStateReq":
            state = self.runtime.service.state if self.runtime else AgentState.ReceivingManifest
            # The sandbox also reports how many algorithm/dataset bytes it accepted, so a client can
            # prove across the process boundary that nothing was sent before attestation passed.
            received = self.runtime.service.received_bytes if self.runtime else 0
            self._on_log(AgentLog("debug", f"received_bytes {received}"))
            self.send(agentStateRes=cvms_pb2.AgentStateRes(id=message.agentStateReq.id, state=state.name))
        elif kind == "disconnectReq":
            self._disconnected = True
            self._session += 1  # ends this stream's writer

    async def _manifest(self, request: cvms_pb2.ComputationRunReq) -> None:
        if self.runtime is not None and self.runtime.service.state is not AgentState.ReceivingManifest:
            log.info("ignoring manifest %s: the agent is not waiting for one", request.id)
            return
        try:
            computation = from_run_request(request)
        except PrismError as exc:
            raise BadInput(f"{ERR_CORRUPT_MANIFEST}: {exc}") from None
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None
        self._computation_id = request.id
        try:
            self.runtime = await AgentRuntime.start(computation, self.settings, self.tee, self._on_event, self._on_log)
        except (PrismError, RuntimeError, OSError) as exc:
            self.send(run_res=cvms_pb2.RunResponse(computation_id=request.id, error=str(exc)))
            return
        self.send(run_res=cvms_pb2.RunResponse(computation_id=request.id))

    def _stop_computation(self, computation_id: str) -> None:
        text = ""
        if self.runtime is None:
            text = "no computation is running"
        else:
            self.runtime.service.stop_computation()
        self.send(stopComputationRes=cvms_pb2.StopComputationResponse(computation_id=computation_id, message=text))

    def _on_event(self, event: AgentEvent) -> None:
        self.send(agent_event=cvms_pb2.AgentEvent(
            event_type=event.event_type, timestamp=_now(), computation_id=self._computation_id,
            details=event.details, originator=event.originator, status=event.status))

    def _on_log(self, entry: AgentLog) -> None:
        self.send(agent_log=cvms_pb2.AgentLog(message=entry.message, computation_id=self._computation_id,
                                              level=entry.level.upper(), timestamp=_now()))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.sandbox.agent_process",
                                     description="a sandbox Cocos agent (one simulated CVM)")
    parser.add_argument("--env-file", help="KEY=VALUE settings written by the manager (AGENT_CVM_* ...)")
    parser.add_argument("--port", type=int, required=True, help="the forwarded port the ingress listens on")
    parser.add_argument("--listen-fd", type=int, default=None,
                        help="an inherited socket already bound to --port (the host's reservation)")
    parser.add_argument("--tee-dir", required=True, help="state directory of the sandbox TEE chain")
    parser.add_argument("--work-dir", default="", help="the agent's work directory")
    parser.add_argument("--misbehave", choices=MISBEHAVIOURS, default=None)
    parser.add_argument("--reconnect-seconds", type=float, default=RECONNECT_SECONDS)
    return parser.parse_args(argv)


async def _main(settings: AgentSettings) -> None:
    agent = SandboxAgent(settings, SandboxTee(settings.tee_dir))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, agent.stop)
    await agent.run()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    env = dict(os.environ)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.env_file:
            env.update(read_env_file(args.env_file))
        if args.listen_fd is not None:
            _adopt_socket(args.listen_fd)
        settings = AgentSettings.from_env(env, port=args.port, listen_fd=args.listen_fd,
                                          tee_dir=args.tee_dir, work_dir=args.work_dir,
                                          misbehave=args.misbehave, reconnect_seconds=args.reconnect_seconds)
        asyncio.run(_main(settings))
    except PrismError as exc:
        log.error("the agent cannot run: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
