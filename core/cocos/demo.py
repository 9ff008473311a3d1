"""The demo computation both `prism demo` and the GUI's Sandbox view run on the embedded sandbox.

A throwaway participant (workspace, keystore with one key per role, a CA for the CVMS mTLS
certificates), a tiny Python algorithm summing a CSV column, and the policy: the manager's reference
measurement from its CoRIM plus our own rules (VMPL 2, no debug) for what the CoRIM does not carry.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.attestation.roots import TrustStore
    from core.attestation.snp.policy import SnpPolicy
    from core.cocos.computation import Computation
    from core.cocos.lifecycle import CvmsTls, RunInputs
    from core.keys.keystore import Keystore
    from core.workspace.manager import WorkspaceManager
    from core.workspace.workspace import Workspace

log = logging.getLogger(__name__)

DEMO_ALGORITHM = b"""import csv, pathlib, sys
total = sum(int(row["value"]) for row in csv.DictReader(open(sys.argv[1], newline="")))
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/sum.txt").write_text(f"{total}\\n")
"""
DEMO_CSV = b"name,value\nalice,10\nbob,32\ncarol,-2\n"
DEMO_RESULT = "40"
ROLE_KEYS = {"algorithm-provider": ("demo-algorithm", "ed25519"), "data-provider": ("demo-data", "ecdsa-p256"),
             "consumer": ("demo-consumer", "ed25519")}


@dataclass
class DemoParty:
    """One throwaway participant under ``home``; ``close()`` deletes it unless ``keep``."""

    home: Path
    manager: WorkspaceManager
    workspace: Workspace
    keystore: Keystore
    names: dict[str, str]  # role -> key name
    tls: CvmsTls
    inputs: RunInputs

    def signer(self, role: str) -> str:
        return self.keystore.sign_role(self.names[role], role)

    def computation(self) -> Computation:
        return demo_computation(self.keystore, self.names)

    def close(self, *, keep: bool = False) -> None:
        for closer in (self.keystore.close, self.workspace.close, self.manager.close):
            try:
                closer()
            except Exception:  # noqa: BLE001 - the rest must still close and the files go
                log.exception("closing the throwaway demo participant failed")
        if not keep:
            shutil.rmtree(self.home, ignore_errors=True)


def prepare_party(home: Path | None = None, *, actor: str = "prism demo") -> DemoParty:
    """A throwaway participant in ``home`` (a fresh temp dir by default). Blocking: run off the GUI thread."""
    from core.ca.authority import CertificateAuthority
    from core.cocos.lifecycle import CvmsTls, RunInputs
    from core.keys.keystore import KdfParams, Keystore
    from core.workspace.manager import WorkspaceManager

    home = Path(tempfile.mkdtemp(prefix="prism-demo-")) if home is None else home
    manager = WorkspaceManager(home, actor=actor)
    try:
        workspace = manager.create("demo")
        # the keystore is deleted after the run: a slow KDF would protect nothing
        keystore = Keystore.create(workspace.keystore_path, passphrase=secrets.token_urlsafe(24),
                                   kdf=KdfParams.FAST, on_event=workspace.audit_hook)
        names = {}
        for role, (name, key_type) in ROLE_KEYS.items():
            keystore.generate(name, key_type, label=f"demo {role}")
            names[role] = name
        authority = CertificateAuthority(workspace.store, keystore, audit=workspace.audit_hook,
                                         workspace_name="demo")
        authority.init("Prism demo CA", days=2)
        inputs_dir = home / "inputs"
        inputs_dir.mkdir()
        (inputs_dir / "sum.py").write_bytes(DEMO_ALGORITHM)
        (inputs_dir / "values.csv").write_bytes(DEMO_CSV)
        inputs = RunInputs(inputs_dir / "sum.py", "python", ("datasets/values.csv",),
                           datasets=(("values.csv", inputs_dir / "values.csv"),))
        return DemoParty(home, manager, workspace, keystore, names, CvmsTls.issue(authority), inputs)
    except BaseException:
        manager.close()
        shutil.rmtree(home, ignore_errors=True)
        raise


def demo_computation(keystore: Keystore, names: dict[str, str]) -> Computation:
    from core.cocos.computation import AgentConfig, Algorithm, Computation, Dataset, ResultConsumer

    def spki(role: str) -> bytes:
        return keystore.get(names[role]).public_der

    return Computation(
        id=f"demo-{secrets.token_hex(4)}", name="demo sum", description="sum the value column of a CSV",
        algorithm=Algorithm(hash=hashlib.sha3_256(DEMO_ALGORITHM).digest(), user_key=spki("algorithm-provider")),
        datasets=(Dataset(hash=hashlib.sha3_256(DEMO_CSV).digest(), user_key=spki("data-provider"),
                          filename="values.csv"),),
        result_consumers=(ResultConsumer(user_key=spki("consumer")),),
        agent_config=AgentConfig(attested_tls=True))


async def sandbox_policy(manager_target: str) -> SnpPolicy:
    """The manager's reference measurement (its CoRIM), with our own rules for the rest.

    A CoRIM carries only the launch measurement; VMPL and debug must come from us.
    Creates a grpc.aio channel: call it inside a coroutine on the loop that runs it.
    """
    from core.attestation.corim import decode_corim
    from core.attestation.snp.policy import SnpPolicy
    from core.cocos.manager_client import ManagerClient

    async with ManagerClient(manager_target, timeout=10) as manager:
        corim = decode_corim((await manager.attestation_policy("demo")).info)
    return SnpPolicy(measurements=corim.measurements, vmpl=2, debug_allowed=False)


def sandbox_trust(ark_pem: Path) -> TrustStore:
    """The pinned vendor roots plus the sandbox's own root, trusted explicitly."""
    from cryptography import x509

    from core.attestation.roots import TrustStore

    trust = TrustStore()
    trust.add_sandbox_root(x509.load_pem_x509_certificate(Path(ark_pem).read_bytes()))
    return trust
