"""`prism attest ...` and `prism collateral ...` end to end through app.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import app.cli as cli
from app.cli import attest_cmds, collateral_cmds
from core.attestation.snp.policy import SnpPolicy
from core.attestation.snp.report import parse_report
from tests.conftest import shared_testdata
from tests.unit.attestation.snp.synth import MILAN_TCB, build_report

CHECK_KEYS = {"id", "status", "expected", "actual", "explanation"}


@pytest.fixture(autouse=True)
def commands(monkeypatch):
    groups = tuple(cli.COMMAND_GROUPS)
    extra = tuple(g for g in (attest_cmds, collateral_cmds) if g not in groups)
    monkeypatch.setattr(cli, "COMMAND_GROUPS", groups + extra)


def run(*argv: str | Path) -> tuple[int, str]:
    lines: list[str] = []
    code = cli.main([str(a) for a in argv], out=lines.append)
    return code, "\n".join(lines)


def run_json(*argv: str | Path) -> tuple[int, dict]:
    code, text = run(*argv, "--json")
    return code, json.loads(text)


def snp(name: str) -> Path:
    return shared_testdata("attestation", "snp", name)


MILAN = ("--vcek", "vcek.pem", "--chain", "ask.pem", "--chain", "ark.pem", "--at", "2026-02-06")


def milan_args(*extra: str) -> list:
    base = snp("mstav_milan_v3_vcek")
    args = [base / "report.bin"]
    for a in MILAN:
        args.append(base / a if a.endswith(".pem") else a)
    return args + list(extra)


def failing(doc: dict) -> set[str]:
    return {c["id"] for c in doc["checks"] if c["status"] == "fail"}


# --- verify over the real corpus --------------------------------------------------------------

def test_authentic_set_exits_0_with_exact_json_schema():
    code, doc = run_json("attest", "verify", *milan_args())
    assert code == 0
    assert set(doc) == {"platform", "authentic", "acceptable", "checks"}
    assert doc["platform"] == "snp" and doc["authentic"] is True and doc["acceptable"] is True
    assert doc["checks"] and all(set(c) == CHECK_KEYS for c in doc["checks"])
    assert {c["status"] for c in doc["checks"]} <= {"pass", "fail", "warn", "skip"}


def test_the_same_set_is_not_authentic_after_its_vcek_expired_or_before_issue():
    code, doc = run_json("attest", "verify", *milan_args()[:-2], "--at", "2020-01-01")
    assert code == 1 and "snp.validity" in failing(doc)


def test_mismatch_set_exits_1_on_the_signature():
    base = snp("constellation_vlek_milan_v2_MISMATCH")
    code, doc = run_json("attest", "verify", base / "report.bin", "--vcek", base / "vlek.pem",
                         "--chain", base / "vlek_cert_chain.pem", "--at", "2023-11-24")
    assert code == 1 and doc["authentic"] is False
    assert "snp.signature" in failing(doc)


def test_truncated_report_exits_2_with_a_clear_message(capsys):
    code, _ = run("attest", "verify", snp("negative_derived") / "truncated_1183.bin")
    assert code == 2
    assert "exactly 1184 bytes, but this one has 1183" in capsys.readouterr().err


def test_collateral_directory_supplies_the_certificates():
    code, doc = run_json("attest", "verify", snp("mstav_milan_v3_vcek") / "report.bin",
                         "--collateral", snp("mstav_milan_v3_vcek"), "--at", "2026-02-06")
    assert code == 0 and doc["authentic"]


def test_tdx_with_two_collateral_directories():
    tdx = shared_testdata("attestation", "tdx")
    code, doc = run_json("attest", "verify", tdx / "teekit_azure_v4" / "quote.bin", "--collateral",
                         tdx / "collateral_2025", "--collateral", tdx / "intel_root", "--at", "2025-10-29")
    assert code == 0 and doc["platform"] == "tdx"
    assert next(c for c in doc["checks"] if c["id"] == "tdx.tcb.status")["status"] == "pass"


def _debug_args() -> list:
    base = snp("gosevguest_milan_v2_vcek")
    return [base / "report.bin", "--vcek", base / "vcek.der", "--chain", base / "cert_chain.pem",
            "--at", "2022-09-25"]


def test_debug_guest_is_flagged_warn_without_policy_and_fails_a_no_debug_policy(tmp_path):
    code, doc = run_json("attest", "verify", *_debug_args())
    assert code == 0
    assert next(c for c in doc["checks"] if c["id"] == "snp.debug")["status"] == "warn"
    policy = tmp_path / "policy.json"
    policy.write_bytes(SnpPolicy(product=None).to_json())
    code, doc = run_json("attest", "verify", *_debug_args(), "--policy", policy)
    assert code == 1 and doc["authentic"] and not doc["acceptable"]
    assert failing(doc) == {"policy.debug"}


def test_policy_from_report_round_trip_then_verify(tmp_path):
    out = tmp_path / "pinned.json"
    code, text = run("attest", "policy", "from-report", snp("mstav_milan_v3_vcek") / "report.bin", "--out", out)
    assert code == 0 and "wrote SNP policy" in text
    report = parse_report((snp("mstav_milan_v3_vcek") / "report.bin").read_bytes())
    assert SnpPolicy.from_json(out.read_bytes()) == SnpPolicy.from_report(report)
    code, doc = run_json("attest", "verify", *milan_args("--policy", str(out)))
    assert code == 0 and doc["acceptable"]


def test_legacy_policy_with_another_measurement_fails(tmp_path):
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({
        "policy": {"policy": 196639, "measurement": "AAAA" * 16, "vmpl": 0},
        "root_of_trust": {"product_line": "Milan"}}))
    code, doc = run_json("attest", "verify", *milan_args("--policy", str(legacy)))
    assert code == 1 and doc["authentic"]
    assert "policy.measurement" in failing(doc)


def test_corim_policy_is_detected(tmp_path):
    corim = pytest.importorskip("core.attestation.corim")
    report = parse_report((snp("mstav_milan_v3_vcek") / "report.bin").read_bytes())
    good, bad = tmp_path / "good.cbor", tmp_path / "bad.cbor"
    good.write_bytes(corim.corim_from_snp_policy(SnpPolicy(measurements=(report.measurement,), vmpl=0)))
    bad.write_bytes(corim.corim_from_snp_policy(SnpPolicy(measurements=(b"\x01" * 48,))))
    assert run_json("attest", "verify", *milan_args("--policy", str(good)))[0] == 0
    code, doc = run_json("attest", "verify", *milan_args("--policy", str(bad)))
    assert code == 1 and "policy.measurement" in failing(doc)


def test_policy_export_to_corim_and_import_back(tmp_path):
    ours = tmp_path / "ours.json"
    ours.write_bytes(SnpPolicy(measurements=(b"\x5a" * 48,)).to_json())
    corim_file = tmp_path / "policy.cbor"
    code, text = run("attest", "policy", "export", ours, "--format", "corim", "--out", corim_file)
    assert code == 0 and "wrote CoRIM" in text
    code, text = run("attest", "policy", "import", corim_file)
    assert code == 0 and SnpPolicy.from_json(text).measurements == (b"\x5a" * 48,)
    assert run("attest", "policy", "import", corim_file, "--platform", "tdx")[0] == 2


def test_eat_file_is_routed_to_snp():
    eat = shared_testdata("cocos", "atls", "snp_aes128") / "eat_evidence.bin"
    code, doc = run_json("attest", "verify", eat, "--at", "2026-02-06")
    assert code == 0 and doc["platform"] == "snp"
    assert next(c for c in doc["checks"] if c["id"] == "eat.signature")["status"] == "skip"
    code, shown = run_json("attest", "show", eat)
    fields = {(f["group"], f["name"]): f["value"] for f in shown["fields"]}
    assert fields[("eat", "platform_type")] == "SNP" and fields[("evidence", "format")] == "eat-cose"


def test_show_json_lists_decoded_fields():
    code, doc = run_json("attest", "show", snp("mstav_turin_v5_vcek") / "report.bin")
    assert code == 0 and doc["platform"] == "snp"
    fields = {(f["group"], f["name"]): f["value"] for f in doc["fields"]}
    assert fields[("identity", "version")] == "5"
    assert fields[("identity", "product")].startswith("Turin")
    assert fields[("tcb", "reported_tcb")].startswith("fmc 1, bootloader 1, tee 1, snp 4, microcode 81")
    assert fields[("policy", "policy")] == "0x3001f"


# --- fresh machine (synthetic evidence) ---------------------------------------------------------

def test_show_and_policy_round_trip_on_synthetic_evidence(tmp_path):
    report = tmp_path / "report.bin"
    report.write_bytes(build_report(reported_tcb=MILAN_TCB, measurement=b"\x42" * 48))
    code, doc = run_json("attest", "show", report)
    fields = {(f["group"], f["name"]): f["value"] for f in doc["fields"]}
    assert code == 0 and fields[("measurements", "measurement")] == "42" * 48
    out = tmp_path / "p.json"
    assert run("attest", "policy", "from-report", report, "--out", out)[0] == 0
    assert SnpPolicy.from_json(out.read_bytes()).measurements == (b"\x42" * 48,)
    code, text = run("attest", "policy", "from-measurement", "ab" * 48, "--base", out)
    assert code == 0 and SnpPolicy.from_json(text).measurements == (b"\xab" * 48,)
    code, text = run("attest", "policy", "import", out)
    assert code == 0 and SnpPolicy.from_json(text) == SnpPolicy.from_json(out.read_bytes())


def test_synthetic_report_without_amd_chain_is_refused(tmp_path, capsys):
    report = tmp_path / "report.bin"
    report.write_bytes(build_report(reported_tcb=MILAN_TCB))
    code, doc = run_json("attest", "verify", report)
    assert code == 1 and not doc["authentic"]
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(report.read_bytes()[:1000])
    assert run("attest", "verify", truncated)[0] == 2
    assert run("attest", "verify", tmp_path / "missing.bin")[0] == 2
    assert run("attest", "verify", report, "--at", "yesterday")[0] == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_bad_measurement_and_bad_policy_exit_2(tmp_path):
    assert run("attest", "policy", "from-measurement", "abcd")[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"what": 1}')
    assert run("attest", "policy", "import", bad)[0] == 2


# --- collateral ---------------------------------------------------------------------------------

def _kds(base: Path) -> httpx.MockTransport:
    vcek = (base / "vcek.pem").read_bytes()
    chain = (base / "ask.pem").read_bytes() + (base / "ark.pem").read_bytes()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "/cert_chain" in request.url.path:
            return httpx.Response(200, content=chain)
        if request.url.path.startswith("/vcek/v1/Milan/"):
            from cryptography.hazmat.primitives.serialization import Encoding

            from core.attestation.snp.certs import load_certificate
            return httpx.Response(200, content=load_certificate(vcek).public_bytes(Encoding.DER))
        return httpx.Response(404)

    transport = httpx.MockTransport(handler)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


def test_collateral_fetch_export_import_round_trip(tmp_path, monkeypatch):
    pytest.importorskip("core.attestation.collateral.pack")
    base = snp("mstav_milan_v3_vcek")
    transport = _kds(base)
    monkeypatch.setattr(collateral_cmds, "make_client", lambda: httpx.AsyncClient(transport=transport))
    code, text = run("collateral", "fetch", base / "report.bin", "--no-crl")
    assert code == 0 and "2 collateral item(s)" in text
    assert any("blSPL=4" in url and "ucodeSPL=219" in url for url in transport.seen)  # REPORTED_TCB
    pack = tmp_path / "milan.pack"
    assert run("collateral", "export", "--out", pack)[0] == 0
    code, doc = run("--workspace", "default", "collateral", "list", "--json")
    before = sorted((i["kind"], i["sha256"]) for i in json.loads(doc))
    monkeypatch.setenv("PRISM_HOME", str(tmp_path / "fresh-home"))
    assert run("collateral", "list")[1] == "(none)"
    code, text = run("collateral", "import", pack)
    assert code == 0 and "imported 2" in text
    after = sorted((i["kind"], i["sha256"]) for i in json.loads(run("collateral", "list", "--json")[1]))
    assert after == before
    code, doc = run_json("attest", "verify", base / "report.bin", "--collateral", pack, "--at", "2026-02-06")
    assert code == 0 and doc["authentic"]


def test_collateral_import_of_garbage_exits_2(tmp_path):
    pytest.importorskip("core.attestation.collateral.pack")
    junk = tmp_path / "junk.pack"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    assert run("collateral", "import", junk)[0] == 2
    assert run("collateral", "import", tmp_path / "nope.pack")[0] == 2


def test_collateral_export_of_an_empty_cache_is_refused(tmp_path):
    code, text = run("collateral", "export", "--out", tmp_path / "x.pack")
    assert code == 1 and "nothing to export" in text
