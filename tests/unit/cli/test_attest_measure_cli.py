"""`prism attest measure` (the measurement workbench) and `attest show`'s grouping, on synthetic inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import app.cli as cli
from app.cli import attest_cmds
from core.attestation.snp.policy import SnpPolicy
from core.attestation.workbench import MeasurementInputs, compute_measurement
from tests.unit.attestation.snp.synth import MILAN_TCB, build_report
from tests.unit.attestation.tdx import synth as tdx_synth
from tests.unit.attestation.test_workbench import fake_ovmf


@pytest.fixture(autouse=True)
def commands(monkeypatch):
    if attest_cmds not in cli.COMMAND_GROUPS:
        monkeypatch.setattr(cli, "COMMAND_GROUPS", (*cli.COMMAND_GROUPS, attest_cmds))


def run(*argv: str | Path) -> tuple[int, str]:
    lines: list[str] = []
    code = cli.main([str(a) for a in argv], out=lines.append)
    return code, "\n".join(lines)


@pytest.fixture
def ovmf(tmp_path: Path) -> Path:
    path = tmp_path / "OVMF.fd"
    path.write_bytes(fake_ovmf())
    return path


@pytest.fixture
def digest(ovmf: Path) -> bytes:
    return compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=2, vcpu_type="EPYC-Milan",
                                                 guest_features=0x21)).digest


def measure(ovmf: Path, *extra: str | Path) -> tuple[int, str]:
    return run("attest", "measure", "--ovmf", ovmf, "--vcpus", "2", "--vcpu-type", "EPYC-Milan",
               "--guest-features", "0x21", *extra)


def test_measure_prints_the_expected_digest(ovmf, digest):
    code, text = measure(ovmf)
    assert code == 0
    assert re.search(r"expected measurement: ([0-9a-f]{96})", text).group(1) == digest.hex()
    code, text = measure(ovmf, "--json")
    doc = json.loads(text)
    assert code == 0 and doc["measurement"] == digest.hex() and doc["comparison"] is None
    other = measure(ovmf, "--vmm", "ec2", "--json")[1]
    assert json.loads(other)["measurement"] != digest.hex()


def test_measure_compares_with_a_report(ovmf, digest, tmp_path):
    good, bad = tmp_path / "good.bin", tmp_path / "bad.bin"
    good.write_bytes(build_report(reported_tcb=MILAN_TCB, measurement=digest))
    bad.write_bytes(build_report(reported_tcb=MILAN_TCB, measurement=b"\x01" * 48))
    code, text = measure(ovmf, "--report", good)
    assert code == 0 and "PASS  workbench.measurement" in text
    code, text = measure(ovmf, "--report", bad, "--json")
    comparison = json.loads(text)["comparison"]
    assert code == 1 and comparison["status"] == "fail"
    assert (comparison["expected"], comparison["actual"]) == (digest.hex(), "01" * 48)


def test_measure_writes_a_policy(ovmf, digest, tmp_path):
    base = tmp_path / "base.json"
    base.write_bytes(SnpPolicy(vmpl=2, measurements=(b"\x07" * 48,)).to_json())
    out = tmp_path / "policy.json"
    code, text = measure(ovmf, "--base", base, "--out", out)
    assert code == 0 and f"to {out}" in text
    policy = SnpPolicy.from_json(out.read_bytes())
    assert policy.measurements == (digest,) and policy.vmpl == 2


@pytest.mark.parametrize(("extra", "message"), [
    (("--guest-features", "lots"), "must be a number"),
    (("--vcpus", "0"), "vCPU count"),
    (("--vcpu-type", "EPYC-Nope"), "unknown vCPU type"),
    (("--initrd", "x.img"), "only measured with a kernel"),
])
def test_bad_measure_inputs_exit_2(ovmf, extra, message, capsys):
    assert measure(ovmf, *extra)[0] == 2
    assert message in capsys.readouterr().err


def test_measure_of_a_file_that_is_no_ovmf_exits_2(tmp_path, capsys):
    junk = tmp_path / "vars.fd"
    junk.write_bytes(b"x" * 100)
    assert run("attest", "measure", "--ovmf", junk, "--vcpus", "1")[0] == 2
    assert "not a whole number of 4 KiB pages" in capsys.readouterr().err


# --- attest show ---------------------------------------------------------------------------------

def test_show_prints_each_group_heading_once_for_a_tdx_v5_quote(tmp_path):
    quote = tmp_path / "quote.bin"
    quote.write_bytes(tdx_synth.make_quote(version=5, body_type=3))
    code, text = run("attest", "show", quote)
    headings = [line for line in text.splitlines() if line.startswith("[")]
    assert code == 0 and len(headings) == len(set(headings))
    assert headings == ["[evidence]", "[identity]", "[measurements]", "[tcb]", "[policy]", "[platform]",
                        "[signature]"]
    tcb = text.split("[tcb]")[1].split("[policy]")[0]
    assert tcb.index("tee_tcb_svn ") < tcb.index("tee_tcb_svn_2") < tcb.index("qe_isv_svn")
    assert "mr_service_td" in text.split("[measurements]")[1].split("[tcb]")[0]
