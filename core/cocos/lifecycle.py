"""One computation run from the participant's side, step by step (COCOS-PROTOCOL.md §1, §8, §9, §12).

``ComputationRun`` starts a CVMS server (mTLS, certificates from the workspace's CA), registers
the manifest, asks the manager for a CVM, waits until the agent reports that it took the
manifest, opens the attested-TLS connection and lets the AttestationGate decide, and only then
uploads the algorithm and the datasets, downloads the result and unzips it into the
workspace's ``results/<computation id>/``. Every step is reported to ``on_step`` as it starts
and ends. Whatever happens (a refusal, an error, a cancelled task) the CVM is removed and the
CVMS server stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.atls.bridge import AtlsTransport, split_target
from core.atls.gate import AttestationGate, AttestationRefused
from core.attestation.roots import TrustStore
from core.attestation.verdict import Verdict
from core.cocos.agent_client import AgentClient, Signer
from core.cocos.channels import ChannelFactory, server_credentials
from core.cocos.computation import Computation
from core.cocos.cvms_server import ComputationRecord, CvmsServer
from core.cocos.errors import HashMismatch
from core.cocos.manager_client import CreatedVm, ManagerClient, VmSpec
from core.cocos.steps import Step, StepStatus  # re-exported: callers import them from here too
from core.errors import BadInput, PrismError, Refused

if TYPE_CHECKING:
    from core.attestation.assess import Policy
    from core.workspace.workspace import Workspace

__all__ = ["ComputationRun", "CvmsTls", "HashNotEnforced", "InputHashMismatch", "RunInputs", "RunOutcome",
           "RunStepFailed", "Step", "StepStatus", "check_inputs", "run_computation", "safe_extract", "upload_logs"]

_log = logging.getLogger(__name__)


class InputHashMismatch(BadInput):
    """A local file is not the one the manifest declares; it is never sent."""

    code = "input-hash-mismatch"


class RunStepFailed(Refused):
    code = "run-step-failed"


class HashNotEnforced(Refused):
    """The agent accepted a file whose hash is not the manifest's: its result cannot be trusted."""

    code = "agent-hash-not-enforced"


@dataclass(frozen=True, slots=True)
class CvmsTls:
    """The CVMS mTLS material: our server identity and the client identity handed to the agent."""

    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes = field(repr=False)
    agent_cert_pem: bytes = b""
    agent_key_pem: bytes = field(default=b"", repr=False)

    @classmethod
    def issue(cls, authority: Any, host: str = "127.0.0.1") -> CvmsTls:
        """A server certificate naming ``host`` and an agent client certificate from the local CA."""
        server = authority.issue("prism-cvms", sans=[host], usage="server", days=2)
        client = authority.issue("prism-cvms-agent", usage="client", days=2)
        if server.key_pem is None or client.key_pem is None:
            raise Refused("the CA issued the CVMS certificates without their keys; issue them again")
        return cls(authority.ca_pem(), server.cert_pem, server.key_pem, client.cert_pem, client.key_pem)


@dataclass(frozen=True, slots=True)
class RunInputs:
    """The local files of a run: the algorithm, its type and arguments, datasets by manifest filename."""

    algorithm: Path
    algo_type: str = "python"
    algo_args: tuple[str, ...] = ()
    requirements: Path | None = None
    datasets: tuple[tuple[str, Path], ...] = ()


@dataclass(frozen=True, slots=True)
class RunOutcome:
    computation_id: str
    cvm_id: str
    verdict: Verdict
    result_zip: Path
    result_dir: Path
    files: tuple[Path, ...]
    steps: tuple[Step, ...]


def _sha3_file(path: Path) -> bytes:
    digest = hashlib.sha3_256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except OSError as exc:
        raise BadInput(f"cannot read {path} ({exc.strerror}); choose an existing file") from None
    return digest.digest()


def check_inputs(computation: Computation, inputs: RunInputs) -> None:
    """Every file matches its manifest hash, and every manifest dataset has a file (§7.1)."""
    computation.require_runnable()
    assert computation.algorithm is not None
    if _sha3_file(inputs.algorithm) != computation.algorithm.hash:
        raise InputHashMismatch(f"the algorithm {inputs.algorithm} does not match the manifest's SHA3-256 "
                                f"{computation.algorithm.hash.hex()}; choose the file the manifest declares")
    files = dict(inputs.datasets)
    for dataset in computation.datasets:
        path = files.get(dataset.filename)
        if path is None:
            raise BadInput(f"no file was given for the manifest dataset {dataset.filename!r}")
        if _sha3_file(path) != dataset.hash:
            raise InputHashMismatch(f"{path} does not match the SHA3-256 the manifest declares for "
                                    f"{dataset.filename} ({dataset.hash.hex()}); it was not sent")


def _member_parts(filename: str, reserved: Sequence[str]) -> tuple[str, ...]:
    name = PurePosixPath(filename)
    if name.is_absolute() or ".." in name.parts or "\\" in filename or not name.parts:
        raise BadInput(f"the result zip holds an unsafe path {filename!r}; it was not unpacked")
    if name.parts[0] in reserved or name.parts[0].startswith("cvms-attestation-"):
        raise BadInput(f"the result zip holds {filename!r}, which would replace Prism's own file; open the zip "
                       "by hand")
    return name.parts


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError)


def _unreadable(exc: BaseException) -> BadInput:
    return BadInput(f"the result from the agent is not a readable zip file ({exc}); download it again")


def safe_extract(archive: Path, dest: Path, *,
                 reserved: Sequence[str] = ("result.zip", "agent.log")) -> tuple[Path, ...]:
    """Unzip without letting a member escape ``dest`` or replace our own files (the zip is untrusted).

    Every name is checked before the first file is written: an unsafe zip leaves nothing behind.
    """
    written: list[Path] = []
    try:
        zipped = zipfile.ZipFile(archive)
    except _ZIP_ERRORS as exc:
        raise _unreadable(exc) from None
    with zipped:
        members = [(member, _member_parts(member.filename, reserved)) for member in zipped.infolist()]
        for member, parts in members:
            target = dest.joinpath(*parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            try:
                data = zipped.read(member)
            except _ZIP_ERRORS as exc:  # a corrupt offset even makes the seek fail with OSError
                raise _unreadable(exc) from None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)  # a local write error stays an OSError: it is not the zip's fault
            written.append(target)
    return tuple(written)


class ComputationRun:
    """One run; read ``steps``, ``verdict``, ``cvm_id``, ``record`` and ``agent_state`` afterwards.

    ``probe_hash_enforcement`` offers the agent a decoy algorithm before the real files (see
    ``_probe``); ``probe_bytes`` is then the decoy's size, the only bytes a caught agent received.
    A CVM whose agent accepted the decoy is spent: the decoy took the algorithm slot, so the real
    algorithm can no longer be uploaded there. Such a CVM must be recreated, never reused; the run
    removes it in its cleanup.
    """

    def __init__(self, *, manager_target: str, workspace: Workspace, cvms_tls: CvmsTls,
                 computation: Computation, inputs: RunInputs, signer: Signer, policy: Policy | None,
                 trust: TrustStore, manager_transport: ChannelFactory | None = None, cvms_host: str = "127.0.0.1",
                 on_step: Callable[[Step], None] | None = None, probe_hash_enforcement: bool = False,
                 agent_timeout: float = 30.0, result_timeout: float = 120.0) -> None:
        config = computation.agent_config
        if config is None or not config.attested_tls:
            raise Refused("this run needs attested TLS (agent_config.attested_tls): without it nothing proves "
                          "the agent runs in a genuine TEE before data is sent", code="atls-required")
        self.manager_target = manager_target
        self.workspace, self.cvms_tls = workspace, cvms_tls
        self.computation, self.inputs, self.signer = computation, inputs, signer
        self.gate = AttestationGate(policy, trust=trust, computation=computation)
        self.manager_transport, self.cvms_host = manager_transport, cvms_host
        self.on_step = on_step
        self.probe_hash_enforcement = probe_hash_enforcement
        self.agent_timeout, self.result_timeout = agent_timeout, result_timeout
        self.steps: list[Step] = []
        self.verdict: Verdict | None = None
        self.cvm_id = ""
        self.record: ComputationRecord | None = None
        self.agent_state = ""  # asked over the CVMS when a run fails: what the agent got
        self.probe_bytes = 0  # the size of the hash probe's decoy, once it was sent
        self._cvms: CvmsServer | None = None
        self._manager: ManagerClient | None = None
        self._atls: AtlsTransport | None = None

    def _report(self, name: str, status: StepStatus, detail: str = "") -> None:
        step = Step(name, status, detail)
        self.steps.append(step)
        _log.info("run %s: %s %s %s", self.computation.id, name, status.value, detail)
        if self.on_step is not None:
            self.on_step(step)

    async def _step(self, name: str, work: Any, describe: Callable[[Any], str] | str = "") -> Any:
        self._report(name, StepStatus.STARTED)
        try:
            value = await work
        except asyncio.CancelledError:
            self._report(name, StepStatus.FAILED, "cancelled")
            raise
        except Exception as exc:  # every failure is reported; the caller still gets the error itself
            self._report(name, StepStatus.FAILED, str(exc) or type(exc).__name__)
            raise
        self._report(name, StepStatus.OK, describe if isinstance(describe, str) else describe(value))
        return value

    async def run(self) -> RunOutcome:
        try:
            return await self._run()
        finally:
            cleanup = asyncio.ensure_future(self._cleanup())
            try:
                await asyncio.shield(cleanup)
            except asyncio.CancelledError:
                await cleanup  # a cancelled run still removes its CVM
                raise

    async def _run(self) -> RunOutcome:
        comp = self.computation
        await self._step("check-inputs", asyncio.to_thread(check_inputs, comp, self.inputs),
                         "every file matches its manifest hash")
        await self._step("cvms", self._start_cvms(), lambda port: f"listening on {self.cvms_host}:{port} (mTLS)")
        created = await self._step("create-vm", self._create_vm(), lambda vm: f"CVM {vm.cvm_id}, agent port "
                                   f"{vm.forwarded_port}")
        target = created.agent_target(split_target(self.manager_target)[0])
        await self._step("manifest", self._await_manifest(), "the agent took the manifest")
        self.verdict = await self._step("attestation", self._attest(target), _verdict_line)
        async with AgentClient(target=target, transport=self._atls, signer=self.signer) as agent:
            inputs = self.inputs
            if self.probe_hash_enforcement:
                await self._step("hash-probe", self._probe(agent), lambda text: text)
            await self._step("upload-algorithm", agent.upload_algorithm(
                inputs.algorithm, algo_type=inputs.algo_type, algo_args=inputs.algo_args,
                requirements=inputs.requirements), inputs.algorithm.name)
            files = dict(inputs.datasets)
            for dataset in comp.datasets:
                path = files[dataset.filename]
                await self._step(f"upload-dataset {dataset.filename}", agent.upload_dataset(
                    path, filename=dataset.filename), path.name)
            result_dir = self.workspace.results_dir / comp.id
            result_dir.mkdir(parents=True, exist_ok=True)
            zip_path = await self._step("result", agent.download_result(
                result_dir / "result.zip", poll_interval=0.3, max_wait=self.result_timeout),
                lambda path: f"{path.stat().st_size} bytes")
        extracted = await self._step("unzip", asyncio.to_thread(safe_extract, zip_path, result_dir),
                                     lambda files: ", ".join(p.name for p in files) or "(empty)")
        return RunOutcome(comp.id, self.cvm_id, self.verdict, zip_path, result_dir, extracted, tuple(self.steps))

    async def _start_cvms(self) -> int:
        tls = self.cvms_tls
        credentials = server_credentials(tls.server_cert_pem, tls.server_key_pem, client_ca_pem=tls.ca_pem)
        self._cvms = CvmsServer(host=self.cvms_host, credentials=credentials, workspace=self.workspace)
        return await self._cvms.start()

    async def _create_vm(self) -> CreatedVm:
        assert self._cvms is not None
        tls = self.cvms_tls
        self._manager = ManagerClient(self.manager_target, self.manager_transport, timeout=self.agent_timeout)
        spec = VmSpec(agent_cvm_server_url=f"{self.cvms_host}:{self._cvms.port}", agent_cvm_server_ca_cert=tls.ca_pem,
                      agent_cvm_client_cert=tls.agent_cert_pem, agent_cvm_client_key=tls.agent_key_pem)
        created = await self._manager.create_vm(spec)
        self.cvm_id = created.cvm_id
        # registered at once: the agent dials as soon as it boots, and a miss costs it a 5 s redial
        self.record = self._cvms.register(self.computation.id, self.computation, job_id=created.cvm_id)
        return created

    async def _await_manifest(self) -> None:
        assert self._cvms is not None
        try:
            record = await self._cvms.wait_for(self.computation.id, lambda r: bool(r.run_responses),
                                               timeout=self.agent_timeout)
        except TimeoutError:
            raise RunStepFailed(f"the agent of CVM {self.cvm_id} did not take the manifest within "
                                f"{self.agent_timeout:g} s; check that it can reach the CVMS at "
                                f"{self.cvms_host}:{self._cvms.port}") from None
        error = record.run_responses[-1].error
        if error:
            raise RunStepFailed(f"the agent could not start the computation: {error}")

    async def _attest(self, target: str) -> Verdict:
        self._atls = AtlsTransport(self.gate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.agent_timeout
        while True:
            try:
                return await self._atls.connect(target)
            except AttestationRefused as refused:
                self.verdict = refused.verdict
                raise
            except PrismError as exc:
                # §14 #22: a forwarded port can lag behind the agent; retry, then give up clearly
                if loop.time() > deadline:
                    raise
                _log.info("aTLS to %s not ready yet (%s); retrying", target, exc)
                await asyncio.sleep(0.3)

    async def _probe(self, agent: AgentClient) -> str:
        """Offer a decoy algorithm first: an honest agent refuses it and consumes nothing (§3.6).

        An agent that accepts it does not check uploads against the manifest, so whatever it
        computes cannot be trusted; the run stops before any real file is sent. That agent now
        holds the decoy as the computation's algorithm (it moved on to ReceivingData), so that CVM
        can never run this computation: remove it and create a new one (cleanup removes it).
        """
        decoy = self.workspace.cache_dir / f"hash-probe-{self.computation.id}.py"
        content = b"# prism hash-enforcement probe " + os.urandom(16).hex().encode() + b"\n"
        decoy.write_bytes(content)
        self.probe_bytes = len(content)
        try:
            await agent.upload_algorithm(decoy, algo_type=self.inputs.algo_type)
        except HashMismatch:
            return "the agent refused a decoy that is not in the manifest, as it must"
        finally:
            decoy.unlink(missing_ok=True)
        raise HashNotEnforced("the agent accepted an algorithm whose SHA3-256 is not the one in the manifest: it "
                              "does not enforce the manifest, so its results cannot be trusted. None of your "
                              "files was sent; stop using this agent")

    async def _cleanup(self) -> None:
        failed = any(s.status is StepStatus.FAILED for s in self.steps)
        if self._atls is not None:
            await self._atls.close()
        if failed and self._cvms is not None and self.record is not None and self.record.connected:
            self.agent_state = await self._ask_state()
        if self._manager is not None:
            if self.cvm_id:
                await self._quiet_step("remove-vm", self._manager.remove_vm(self.cvm_id), f"CVM {self.cvm_id}")
            await self._manager.close()
        if self._cvms is not None:
            await self._quiet_step("cvms-stop", self._cvms.stop(1), "stopped")

    async def _ask_state(self) -> str:
        assert self._cvms is not None and self.record is not None
        before = len(self.record.states)
        try:
            await self._cvms.request_state(self.computation.id)
            await self._cvms.wait_for(self.computation.id, lambda r: len(r.states) > before, timeout=3)
        except (PrismError, TimeoutError):
            return ""
        return self.record.states[-1]

    async def _quiet_step(self, name: str, work: Any, detail: str) -> None:
        # cleanup reports its own failures but never hides the run's outcome
        self._report(name, StepStatus.STARTED)
        try:
            await work
        except (PrismError, OSError) as exc:
            self._report(name, StepStatus.FAILED, str(exc))
            return
        self._report(name, StepStatus.OK, detail)


def _verdict_line(verdict: Verdict) -> str:
    passed = sum(1 for c in verdict.checks if c.status.value == "pass")
    return f"{verdict.platform}: acceptable, {passed} of {len(verdict.checks)} checks passed"


def upload_logs(record: ComputationRecord) -> Sequence[str]:
    """The agent's log lines about received uploads (what a CVMS learns of every upload)."""
    return [entry.message for entry in record.logs if entry.message.startswith(("algorithm received", "dataset "))]


async def run_computation(**options: Any) -> RunOutcome:
    """``ComputationRun(**options).run()`` for callers that need only the outcome."""
    return await ComputationRun(**options).run()
