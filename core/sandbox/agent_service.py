"""A Cocos-compatible ``agent.AgentService`` with the real agent's rules (COCOS-PROTOCOL.md §3-§5).

It holds one computation (the manifest the CVMS delivered), a work directory and the §5 state
machine. It checks each role signature against the manifest keys, admits RPCs only in the states
the real agent does, checks file names and SHA3-256 hashes, runs the algorithm, serves the result
zip with its ``file-size`` header, and answers ``Attestation`` with an EAT from the SandboxTee
(types 0 SNP, 1 vTPM and 2 SNP-vTPM, as a real SNP-vTPM CVM does).
Statuses and messages are the agent's own (agent_errors), so a client cannot tell it apart.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.cocos.computation import Computation, Dataset
from core.errors import BadInput, PrismError
from core.keys.signatures import verify_role_signature
from core.sandbox import agent_errors as err
from core.sandbox.agent_errors import AgentRpcError, unknown
from core.sandbox.eat_builder import (
    AttestationServiceKey, encode_cose_eat, snp_claims, snp_raw_report, vtpm_claims,
)
from core.sandbox.runner import RunError, RunSpec, clean_work_dir, run_algorithm
from core.sandbox.staging import stage_algorithm, stage_dataset
from core.sandbox.state import AgentEventName as Ev
from core.sandbox.state import AgentLog, AgentState, EventListener, LogListener, StateMachine
from core.sandbox.tee import MISBEHAVIOURS, REPORT_DEFECTS, SandboxTee
from core.sandbox.vtpm import SandboxVtpm
from proto.agent import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
ATTESTATION_SNP = 0
ATTESTATION_VTPM = 1
ATTESTATION_SNP_VTPM = 2
#: types the real agent accepts; the sandbox is SNP with a vTPM, so 0, 1 and 2 yield evidence
_KNOWN_TYPES = (0, 1, 2, 3, 4)
_SERVED_TYPES = (ATTESTATION_SNP, ATTESTATION_VTPM, ATTESTATION_SNP_VTPM)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


class SandboxAgentService(agent_pb2_grpc.AgentServiceServicer):
    """One computation on one simulated CVM. Use from a single asyncio loop."""

    def __init__(self, computation: Computation, tee: SandboxTee, *, work_dir: str | Path | None = None,
                 misbehave: str | None = None, run_timeout: float = 300.0,
                 on_event: EventListener | None = None, on_log: LogListener | None = None) -> None:
        computation.require_runnable()
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise BadInput(f"unknown misbehaviour {misbehave!r}; choose one of {', '.join(MISBEHAVIOURS)}")
        self.computation = computation
        self.tee = tee
        self.work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="prism-agent-"))
        self.misbehave = misbehave
        self.run_timeout = run_timeout
        #: every upload byte received (algorithm, requirements, datasets), accepted or not
        self.received_bytes = 0
        self.run_error: str | None = None
        self.result: bytes | None = None
        self._on_log = on_log
        self._pending: list[Dataset] = list(computation.datasets)
        self._run_task: asyncio.Task[None] | None = None
        self._algo_spec: RunSpec | None = None
        self._eat_key = AttestationServiceKey()
        self.vtpm = SandboxVtpm()
        self.vtpm.extend_manifest(computation)
        self.machine = StateMachine(on_event)
        self.machine.fire(Ev.START)
        self.machine.fire(Ev.MANIFEST_RECEIVED)

    @property
    def state(self) -> AgentState:
        return self.machine.state

    def _log(self, level: str, message: str) -> None:
        log.info("agent: %s", message)
        if self._on_log is not None:
            self._on_log(AgentLog(level, message))

    # --- authentication (§3.2, §4) --------------------------------------------------------------

    def _authenticate(self, context: grpc.aio.ServicerContext, role: str, keys: list[bytes]) -> None:
        values = [v for k, v in (context.invocation_metadata() or ()) if k == "signature"]
        if len(values) != 1:
            raise AgentRpcError(grpc.StatusCode.UNAUTHENTICATED,
                                f"{err.ERR_INVALID_METADATA}: expected exactly one signature, got {len(values)}")
        try:
            signature = base64.b64decode(str(values[0]), validate=True)
        except (binascii.Error, ValueError):
            raise AgentRpcError(grpc.StatusCode.UNAUTHENTICATED,
                                f"{err.ERR_INVALID_METADATA}: the signature is not base64") from None
        for key in keys:
            try:
                if key and verify_role_signature(key, role, signature):
                    return
            except PrismError:
                continue  # an unreadable manifest key matches nobody; try the next one
        raise AgentRpcError(grpc.StatusCode.UNAUTHENTICATED, err.ERR_SIGNATURE)

    @staticmethod
    def _metadata(context: grpc.aio.ServicerContext, key: str) -> list[str]:
        return [str(v) for k, v in (context.invocation_metadata() or ()) if k == key]

    async def _guard(self, context: grpc.aio.ServicerContext, exc: AgentRpcError) -> None:
        self._log("error", exc.message)
        await context.abort(exc.status, exc.message)

    # --- Algo --------------------------------------------------------------------------------

    async def Algo(self, request_iterator: AsyncIterator[agent_pb2.AlgoRequest],  # noqa: N802
                   context: grpc.aio.ServicerContext) -> agent_pb2.AlgoResponse:
        try:
            algorithm = self.computation.algorithm
            self._authenticate(context, "algorithm-provider", [algorithm.user_key] if algorithm else [])
            algo, requirements = bytearray(), bytearray()
            async for chunk in request_iterator:
                algo += chunk.algorithm
                requirements += chunk.requirements
                self.received_bytes += len(chunk.algorithm) + len(chunk.requirements)
            # Like the real agent: the transport buffers the whole upload, then the service checks state.
            if self.state is not AgentState.ReceivingAlgorithm:
                raise unknown(err.ERR_STATE_NOT_READY)
            if algorithm is None:
                raise unknown(err.ERR_UNDECLARED_ALGORITHM)
            if not algo:
                raise unknown(err.ERR_ALGORITHM_REQUIRED)
            self._check_hash(bytes(algo), algorithm.hash)
            algo_types = self._metadata(context, "algo_type")
            if not algo_types:
                # The real agent crashes here (§14 #1); the sandbox fails the computation instead.
                self.run_error = "agent crashed: the upload carried no algo_type metadata"
                self.machine.fire(Ev.RUN_FAILED)
                raise AgentRpcError(grpc.StatusCode.INTERNAL, self.run_error)
            args = tuple(self._metadata(context, "algo_args"))
            self._algo_spec = RunSpec(algo_types[0] or "bin", args, self.run_timeout)
            stage_algorithm(self.work_dir, bytes(algo), bytes(requirements))
            self._log("info", f"algorithm received ({len(algo)} bytes, type {self._algo_spec.algo_type})")
            if self.machine.fire(Ev.ALGORITHM_RECEIVED, has_datasets=bool(self._pending)) is AgentState.Running:
                self._start_run()
        except AgentRpcError as exc:
            await self._guard(context, exc)
        return agent_pb2.AlgoResponse()

    def _check_hash(self, data: bytes, expected: bytes) -> None:
        if hashlib.sha3_256(data).digest() == expected:
            return
        if self.misbehave == "hash-substitution":
            self._log("warn", "accepting an upload whose SHA3-256 differs from the manifest (misbehaviour)")
            return
        raise unknown(err.ERR_HASH_MISMATCH)

    # --- Data --------------------------------------------------------------------------------

    async def Data(self, request_iterator: AsyncIterator[agent_pb2.DataRequest],  # noqa: N802
                   context: grpc.aio.ServicerContext) -> agent_pb2.DataResponse:
        try:
            self._authenticate(context, "data-provider", [d.user_key for d in self.computation.datasets])
            data, filename = bytearray(), ""
            async for chunk in request_iterator:
                data += chunk.dataset
                filename = chunk.filename or filename
                self.received_bytes += len(chunk.dataset)
            if self.state is not AgentState.ReceivingData:
                raise unknown(err.ERR_STATE_NOT_READY)
            if not self._pending:
                raise unknown(err.ERR_ALL_ITEMS_RECEIVED)
            index = next((i for i, d in enumerate(self._pending) if d.filename == filename), None)
            if index is None:
                raise unknown(err.ERR_UNDECLARED_DATASET)
            if not data:
                raise unknown(err.ERR_DATASET_REQUIRED)
            self._check_hash(bytes(data), self._pending[index].hash)
            # Removed before writing, like the real agent: a failed unzip of the last dataset strands
            # the computation in ReceivingData (§14 #7).
            self._pending.pop(index)
            decompress = self._metadata(context, "decompress") == ["true"]
            stage_dataset(self.work_dir, filename, bytes(data), decompress=decompress)
            self._log("info", f"dataset {filename} received ({len(data)} bytes)")
            if not self._pending:
                self.machine.fire(Ev.DATA_RECEIVED)
                self._start_run()
        except AgentRpcError as exc:
            await self._guard(context, exc)
        return agent_pb2.DataResponse()

    # --- run -----------------------------------------------------------------------------------

    def _start_run(self) -> None:
        self._run_task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        spec = self._algo_spec or RunSpec("bin", (), self.run_timeout)
        self.machine.emit("Running", "Starting")
        self.machine.emit("Running", "InProgress")
        try:
            self.result = await run_algorithm(self.work_dir, spec, self._on_log)
        except RunError as exc:
            self.run_error = str(exc)
            self._log("error", self.run_error)
            self.machine.fire(Ev.RUN_FAILED)
        else:
            self._log("info", f"computation finished; result is {len(self.result)} bytes")
            self.machine.fire(Ev.RUN_COMPLETE)
        finally:
            clean_work_dir(self.work_dir)

    async def wait_for_run(self) -> None:
        """Wait until a started run has ended (for hosts and tests; clients poll ``Result``)."""
        if self._run_task is not None:
            await asyncio.shield(self._run_task)

    def stop_computation(self) -> None:
        """The CVMS StopComputation: wipe uploads and results; the agent waits for a new manifest."""
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
        clean_work_dir(self.work_dir)
        self.result, self.run_error, self._pending = None, None, []
        self.machine.fire(Ev.STOP)

    # --- Result --------------------------------------------------------------------------------

    async def Result(self, request: agent_pb2.ResultRequest,  # noqa: N802
                     context: grpc.aio.ServicerContext) -> AsyncIterator[agent_pb2.ResultResponse]:
        try:
            self._authenticate(context, "consumer", [c.user_key for c in self.computation.result_consumers])
            if self.state is AgentState.Failed:
                raise unknown(self.run_error or "computation failed")
            if self.state not in (AgentState.ConsumingResults, AgentState.Complete) or self.result is None:
                raise unknown(err.ERR_RESULTS_NOT_READY)
        except AgentRpcError as exc:
            await self._guard(context, exc)
            return
        result = self.result
        await context.send_initial_metadata((("file-size", str(len(result))),))
        for offset in range(0, len(result), CHUNK_SIZE):
            yield agent_pb2.ResultResponse(file=result[offset:offset + CHUNK_SIZE])
        if self.state is AgentState.ConsumingResults:
            self.machine.fire(Ev.RESULTS_CONSUMED)

    # --- Attestation (§3.4) ------------------------------------------------------------------------

    async def Attestation(self, request: agent_pb2.AttestationRequest,  # noqa: N802
                          context: grpc.aio.ServicerContext) -> AsyncIterator[agent_pb2.AttestationResponse]:
        try:
            token = await self._attestation_token(request)
        except AgentRpcError as exc:
            await self._guard(context, exc)
            return
        await context.send_initial_metadata((("file-size", str(len(token))),))
        for offset in range(0, len(token), CHUNK_SIZE):
            yield agent_pb2.AttestationResponse(file=token[offset:offset + CHUNK_SIZE])

    async def _attestation_token(self, request: agent_pb2.AttestationRequest) -> bytes:
        if len(request.teeNonce) > 64:
            raise unknown(err.ERR_TEE_NONCE)
        if len(request.vtpmNonce) > 32:
            raise unknown(err.ERR_VTPM_NONCE)
        if request.type not in _KNOWN_TYPES:
            raise unknown(err.ERR_ATTESTATION_TYPE)
        if request.type not in _SERVED_TYPES:
            raise unknown(err.wrapped(err.ERR_ATTESTATION_FAILED, "the sandbox TEE is an SEV-SNP platform "
                                      "with a vTPM; request type 0 (SNP), 1 (vTPM) or 2 (SNP-vTPM)"))
        tee_nonce = request.teeNonce.ljust(64, b"\0")
        vtpm_nonce = request.vtpmNonce.ljust(32, b"\0")
        if request.type == ATTESTATION_VTPM:
            # §1.2: quotes over vtpmNonce32 only; the teeNonce binds nothing without a TEE report.
            return await asyncio.to_thread(self._build_vtpm_eat, vtpm_nonce)
        # eat_nonce is the vTPM nonce padded to 32; without one the service uses the report data.
        eat_nonce = vtpm_nonce if request.vtpmNonce else tee_nonce
        defect = self.misbehave if self.misbehave in REPORT_DEFECTS else None
        return await asyncio.to_thread(self._build_eat, request.type, tee_nonce, vtpm_nonce, eat_nonce, defect)

    def _build_eat(self, kind: int, tee_nonce: bytes, vtpm_nonce: bytes, eat_nonce: bytes,
                   defect: str | None) -> bytes:
        ak_pub = self.vtpm.ak_pub() if kind == ATTESTATION_SNP_VTPM else b""
        # SNP-vTPM: the report binds the vTPM's attestation key to the caller's nonce (§1.2).
        report_data = hashlib.sha3_512(tee_nonce + ak_pub).digest() if ak_pub else tee_nonce
        report = self.tee.report(report_data, misbehave=defect)
        raw = snp_raw_report(report, vcek_der=_der(self.tee.vcek_certificate()),
                             ask_der=_der(self.tee.ask_certificate()), ark_der=_der(self.tee.ark_certificate()))
        platform = "SNP"
        if ak_pub:
            raw, platform = self.vtpm.attestation(vtpm_nonce, raw), "SNP-vTPM"
        return encode_cose_eat(snp_claims(report, raw, eat_nonce, platform_type=platform), self._eat_key)

    def _build_vtpm_eat(self, vtpm_nonce: bytes) -> bytes:
        return encode_cose_eat(vtpm_claims(self.vtpm.evidence(vtpm_nonce), vtpm_nonce), self._eat_key)

    # --- IMA and Azure token (§3.1) -----------------------------------------------------------------

    async def IMAMeasurements(self, request: agent_pb2.IMAMeasurementsRequest,  # noqa: N802
                              context: grpc.aio.ServicerContext
                              ) -> AsyncIterator[agent_pb2.IMAMeasurementsResponse]:
        # The sandbox runs no IMA policy: an empty measurement list, whose replay is PCR10 = zeros.
        await context.send_initial_metadata((("file-size", "0"),))
        yield agent_pb2.IMAMeasurementsResponse(file=b"", pcr10=bytes(20))

    async def AzureAttestationToken(self, request: agent_pb2.AttestationTokenRequest,  # noqa: N802
                                    context: grpc.aio.ServicerContext) -> agent_pb2.AttestationTokenResponse:
        if len(request.tokenNonce) > 32:
            await self._guard(context, unknown(err.ERR_TOKEN_NONCE))
        await self._guard(context, unknown(err.wrapped(err.ERR_AZURE_TOKEN, "the sandbox is not an Azure CVM")))
        return agent_pb2.AttestationTokenResponse()  # pragma: no cover - abort raises

    @property
    def attestation_public_key(self) -> ec.EllipticCurvePublicKey:
        """The ephemeral EAT signing key (certifies nothing; useful only to check sandbox tokens)."""
        return self._eat_key.public_key()
