"""Shared pieces for the end-to-end tests: a real sandbox daemon per mode, a workspace with keys and a CA."""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509

from core.atls.bridge import AtlsTransport
from core.atls.gate import AttestationGate
from core.attestation.roots import TrustStore
from core.attestation.snp.policy import SnpPolicy
from core.ca.authority import CertificateAuthority
from core.cocos.channels import server_credentials
from core.cocos.computation import (
    AgentConfig,
    Algorithm,
    Computation,
    Dataset,
    ResultConsumer,
)
from core.cocos.cvms_server import ComputationRecord, CvmsServer
from core.cocos.lifecycle import CvmsTls, RunInputs
from core.cocos.manager_client import ManagerClient, VmSpec
from core.keys.kdf import KdfParams
from core.keys.keystore import Keystore
from core.sandbox.control import SandboxControl, SandboxPaths, SandboxStatus
from core.sandbox.tee import SANDBOX_MEASUREMENT, SandboxTee
from core.workspace.manager import WorkspaceManager
from core.workspace.workspace import Workspace

ALGORITHM = b"""import csv, pathlib, sys
total = sum(int(row["value"]) for row in csv.DictReader(open(sys.argv[1], newline="")))
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(f"{total}\\n")
"""
CSV = b"name,value\na,10\nb,32\nc,-2\n"
ROLE_KEYS = {"algorithm-provider": "algo-key", "data-provider": "data-key", "consumer": "consumer-key"}


@cache
def tee_state() -> Path:
    """RSA-4096 chain generation is slow: one sandbox chain for the whole session."""
    state = Path(tempfile.mkdtemp(prefix="prism-e2e-tee-"))
    atexit.register(shutil.rmtree, state, True)
    SandboxTee(state).ark_certificate()
    return state


def start_sandbox(home: Path, misbehave: str | None = None) -> tuple[SandboxControl, SandboxStatus]:
    shutil.copytree(tee_state(), SandboxPaths.under(home).tee_dir, dirs_exist_ok=True)
    control = SandboxControl(home)
    return control, control.up(misbehave=misbehave, timeout=30)


def trust_for(status: SandboxStatus) -> TrustStore:
    trust = TrustStore()
    trust.add_sandbox_root(x509.load_pem_x509_certificate(Path(status.ark_pem).read_bytes()))
    return trust


def sandbox_policy() -> SnpPolicy:
    return SnpPolicy(measurements=(SANDBOX_MEASUREMENT,), vmpl=2, debug_allowed=False)


@dataclass
class Participant:
    """A throwaway workspace: one keystore key per role and a CA for the CVMS mTLS certificates."""

    workspace: Workspace
    keystore: Keystore
    tls: CvmsTls
    inputs_dir: Path

    @classmethod
    def create(cls, home: Path) -> Participant:
        workspace = WorkspaceManager(home, actor="e2e").create("e2e")
        keystore = Keystore.create(workspace.keystore_path, passphrase="e2e pass", kdf=KdfParams.FAST)
        keystore.generate("algo-key", "ed25519")
        keystore.generate("data-key", "ecdsa-p256")
        keystore.generate("consumer-key", "ed25519")
        keystore.generate("stranger", "ed25519")  # declared nowhere in the manifest
        authority = CertificateAuthority(workspace.store, keystore, workspace_name="e2e")
        authority.init("e2e CA", days=2)
        inputs = home / "inputs"
        inputs.mkdir()
        (inputs / "sum.py").write_bytes(ALGORITHM)
        (inputs / "data.csv").write_bytes(CSV)
        return cls(workspace, keystore, CvmsTls.issue(authority), inputs)

    def signer(self, role: str) -> str:
        return self.keystore.sign_role(ROLE_KEYS[role], role)

    def computation(self, comp_id: str) -> Computation:
        def spki(role: str) -> bytes:
            return self.keystore.get(ROLE_KEYS[role]).public_der

        return Computation(
            id=comp_id, name="sum", description="sum a column",
            algorithm=Algorithm(hash=hashlib.sha3_256(ALGORITHM).digest(), user_key=spki("algorithm-provider")),
            datasets=(Dataset(hash=hashlib.sha3_256(CSV).digest(), user_key=spki("data-provider"),
                              filename="data.csv"),),
            result_consumers=(ResultConsumer(user_key=spki("consumer")),),
            agent_config=AgentConfig(attested_tls=True))

    def inputs(self) -> RunInputs:
        return RunInputs(self.inputs_dir / "sum.py", "python", ("datasets/data.csv",),
                         datasets=(("data.csv", self.inputs_dir / "data.csv"),))

    def close(self) -> None:
        self.keystore.close()
        self.workspace.close()


@dataclass
class Provisioned:
    target: str
    cvm_id: str
    cvms: CvmsServer
    record: ComputationRecord
    atls: AtlsTransport


@asynccontextmanager
async def provisioned(status: SandboxStatus, party: Participant, comp: Computation) -> AsyncIterator[Provisioned]:
    """A CVM whose agent took ``comp`` from our mTLS CVMS, and a verified aTLS transport to it."""
    tls = party.tls
    cvms = CvmsServer(credentials=server_credentials(tls.server_cert_pem, tls.server_key_pem, tls.ca_pem))
    port = await cvms.start()
    manager = ManagerClient(status.manager_target, timeout=20)
    atls = AtlsTransport(AttestationGate(sandbox_policy(), trust=trust_for(status), computation=comp))
    cvm_id = ""
    try:
        created = await manager.create_vm(VmSpec(
            agent_cvm_server_url=f"127.0.0.1:{port}", agent_cvm_server_ca_cert=tls.ca_pem,
            agent_cvm_client_cert=tls.agent_cert_pem, agent_cvm_client_key=tls.agent_key_pem))
        cvm_id = created.cvm_id
        record = cvms.register(comp.id, comp, job_id=cvm_id)
        await cvms.wait_for(comp.id, lambda r: bool(r.run_responses), timeout=20)
        target = created.agent_target("127.0.0.1")
        await atls.connect(target)
        yield Provisioned(target, cvm_id, cvms, record, atls)
    finally:
        await atls.close()
        if cvm_id:
            await manager.remove_vm(cvm_id)
        await manager.close()
        await cvms.stop(1)


def run(coro, timeout: float = 40):
    return asyncio.run(asyncio.wait_for(coro, timeout))
