"""`prism agent ...` and `prism manager ...`: configuration, exit codes, and one run against a real sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from pathlib import Path

import pytest

from app import cli
from app.cli import agent_cmds, manager_cmds
from core.attestation.snp.policy import SnpPolicy
from core.cocos.channels import MutualTlsTransport, PlainTransport
from core.cocos.computation import (
    AgentConfig,
    Algorithm,
    Computation,
    Dataset,
    ResultConsumer,
)
from core.cocos.cvms_server import CvmsServer
from core.keys.kdf import KdfParams
from core.keys.keystore import Keystore
from core.sandbox.tee import SANDBOX_MEASUREMENT
from core.workspace.manager import WorkspaceManager
from tests.e2e.e2e_support import ALGORITHM, CSV, start_sandbox

pytestmark = pytest.mark.timeout(60)
PASSPHRASE = "cli test passphrase"


@pytest.fixture(autouse=True)
def groups(monkeypatch):
    # the lead registers these groups in COMMAND_GROUPS; until then (and without duplicates after) add them here
    others = tuple(g for g in cli.COMMAND_GROUPS if g not in (agent_cmds, manager_cmds))
    monkeypatch.setattr(cli, "COMMAND_GROUPS", (*others, agent_cmds, manager_cmds))
    for name in ("URL", "TIMEOUT", "SERVER_CA_CERTS", "CLIENT_CERT", "CLIENT_KEY", "ATTESTED_TLS",
                 "ATTESTATION_POLICY"):
        monkeypatch.delenv(f"AGENT_GRPC_{name}", raising=False)
        monkeypatch.delenv(f"MANAGER_GRPC_{name}", raising=False)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    workspace = WorkspaceManager(home, actor="test").create("default")
    with Keystore.create(workspace.keystore_path, passphrase=PASSPHRASE, kdf=KdfParams.FAST) as keystore:
        keystore.generate("party", "ed25519")
        keystore.generate("other", "ed25519")
        spki = keystore.get("party").public_der
    workspace.close()
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    (home / "spki").write_bytes(spki)
    return home


def prism(home: Path, *argv: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = cli.main(["--home", str(home), "--passphrase-file", str(home.parent / "pass.txt"), *argv],
                    out=lines.append)
    return code, lines


# --- configuration --------------------------------------------------------------------------

def test_flags_override_the_cocos_environment(monkeypatch, tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("MANAGER_GRPC_URL", "10.0.0.1:7001")
    monkeypatch.setenv("MANAGER_GRPC_TIMEOUT", "5s")
    parser = cli.build_parser()
    args = parser.parse_args(["manager", "info", "x"])
    settings = manager_cmds.settings_from(args, "MANAGER_GRPC")
    assert (settings.target, settings.timeout, type(settings.transport)) == ("10.0.0.1:7001", 5.0, PlainTransport)
    args = parser.parse_args(["manager", "info", "x", "--target", "127.0.0.1:9", "--timeout", "1m",
                              "--ca", str(ca), "--cert", str(ca), "--key-file", str(ca)])
    settings = manager_cmds.settings_from(args, "MANAGER_GRPC")
    assert (settings.target, settings.timeout) == ("127.0.0.1:9", 60.0)
    assert isinstance(settings.transport, MutualTlsTransport)


def test_bad_usage_exits_2_with_a_reason(home, capsys, monkeypatch) -> None:
    assert prism(home, "manager", "info", "x")[0] == 2  # no MANAGER_GRPC_URL, no --target
    assert "MANAGER_GRPC_URL is not set" in capsys.readouterr().err
    code, _ = prism(home, "agent", "attestation", "--target", "127.0.0.1:9", "--out", "x", "--atls")
    assert code == 2 and "needs an attestation policy" in capsys.readouterr().err
    code, _ = prism(home, "agent", "attestation", "--target", "127.0.0.1:9", "--out", "x", "--tee-nonce", "zz")
    assert code == 2 and "is not hex" in capsys.readouterr().err
    code, _ = prism(home, "manager", "create-vm", "--target", "127.0.0.1:9", "--ttl", "ten minutes")
    assert code == 2 and "is not a duration" in capsys.readouterr().err
    assert prism(home, "agent", "upload-algo", "f", "--target", "127.0.0.1:9")[0] == 2  # --key is required
    monkeypatch.setenv("AGENT_GRPC_URL", "127.0.0.1:9")
    monkeypatch.setenv("AGENT_GRPC_ATTESTED_TLS", "true")  # the Cocos CLI's switch, without its policy file
    code, _ = prism(home, "agent", "attestation", "--out", "x")
    assert code == 2 and "AGENT_GRPC_ATTESTATION_POLICY" in capsys.readouterr().err


def test_unknown_key_and_unreachable_manager_exit_1(home, capsys) -> None:
    code, _ = prism(home, "agent", "result", "--target", "127.0.0.1:9", "--key", "nobody")
    assert code == 1 and "nobody" in capsys.readouterr().err
    code, _ = prism(home, "manager", "remove-vm", "abc", "--target", "127.0.0.1:9", "--timeout", "2s")
    assert code == 1 and "not reachable" in capsys.readouterr().err


# --- against a real sandbox ------------------------------------------------------------------

class CvmsThread:
    """A CVMS server on its own loop, so the CLI's blocking commands can run meanwhile."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: CvmsServer = self.call(self._start())

    async def _start(self) -> CvmsServer:
        server = CvmsServer()
        await server.start()
        return server

    def call(self, coro, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.server.stop(1))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_manager_and_agent_commands_drive_a_computation(home, tmp_path, capsys) -> None:
    control, status = start_sandbox(tmp_path / "sandbox")
    cvms = CvmsThread()
    spki = (home / "spki").read_bytes()
    comp = Computation(id="cli-run", algorithm=Algorithm(hash=hashlib.sha3_256(ALGORITHM).digest(), user_key=spki),
                       datasets=(Dataset(hash=hashlib.sha3_256(CSV).digest(), user_key=spki, filename="d.csv"),),
                       result_consumers=(ResultConsumer(user_key=spki),), agent_config=AgentConfig(attested_tls=True))
    (tmp_path / "algo.py").write_bytes(ALGORITHM)
    (tmp_path / "d.csv").write_bytes(CSV)
    (tmp_path / "policy.json").write_bytes(SnpPolicy(measurements=(SANDBOX_MEASUREMENT,), vmpl=2).to_json())
    (tmp_path / "wrong.json").write_bytes(SnpPolicy(measurements=(bytes(48),), vmpl=2).to_json())
    manager = ("--target", status.manager_target)
    try:
        code, lines = prism(home, "manager", "create-vm", *manager, "--cvms-url", f"127.0.0.1:{cvms.server.port}",
                            "--json")
        assert code == 0
        created = json.loads("\n".join(lines))
        cvms.server.register("cli-run", comp, job_id=created["cvm_id"])
        cvms.call(cvms.server.wait_for("cli-run", lambda r: bool(r.run_responses), timeout=15))
        agent = ("--target", created["agent_target"], "--atls", "--trust-sandbox-root", status.ark_pem)
        good, wrong = ("--policy", str(tmp_path / "policy.json")), ("--policy", str(tmp_path / "wrong.json"))

        code, _ = prism(home, "agent", "upload-algo", str(tmp_path / "algo.py"), *agent, *wrong, "--key", "party",
                        "--algo-type", "python", "--arg", "datasets/d.csv")
        assert code == 1  # refused by the policy: the agent still waits for its algorithm
        assert "so no data was sent" in capsys.readouterr().err
        code, _ = prism(home, "agent", "upload-algo", str(tmp_path / "algo.py"), *agent, *good, "--key", "other",
                        "--algo-type", "python", "--arg", "datasets/d.csv")
        assert code == 1  # a key the manifest does not declare
        assert "signature verification failed" in capsys.readouterr().err
        code, lines = prism(home, "agent", "upload-algo", str(tmp_path / "algo.py"), *agent, *good, "--key", "party",
                            "--algo-type", "python", "--arg", "datasets/d.csv")
        assert code == 0 and lines[0].startswith("attestation: snp-vtpm acceptable")
        assert prism(home, "agent", "upload-data", str(tmp_path / "d.csv"), *agent, *good, "--key", "party")[0] == 0
        code, lines = prism(home, "agent", "result", *agent, *good, "--key", "party", "--out", str(tmp_path / "r.zip"))
        assert code == 0 and (tmp_path / "r.zip").stat().st_size > 0
        code, _ = prism(home, "agent", "attestation", *agent, *good, "--type", "snp-vtpm", "--tee-nonce", "00ff",
                        "--out", str(tmp_path / "eat.bin"))
        assert code == 0 and (tmp_path / "eat.bin").stat().st_size > 1000

        events = [e.event_type for e in cvms.server.record("cli-run").events]
        assert events[0] == "ReceivingAlgorithm" and "Complete" in events
        code, lines = prism(home, "manager", "info", created["cvm_id"], *manager, "--json")
        assert json.loads("\n".join(lines))["cpu_type"] == "EPYC"
        code, lines = prism(home, "manager", "policy", created["cvm_id"], *manager, "--out", str(tmp_path / "c"))
        assert code == 0 and f"reference measurement {SANDBOX_MEASUREMENT.hex()}" in lines
        assert prism(home, "manager", "remove-vm", created["cvm_id"], *manager)[0] == 0
        assert prism(home, "manager", "remove-vm", created["cvm_id"], *manager)[0] == 1
        err = capsys.readouterr().err
        assert "the manager has no such CVM" in err and "entity not found" in err
        assert control.status().vms == ()
    finally:
        cvms.close()
        control.down()
