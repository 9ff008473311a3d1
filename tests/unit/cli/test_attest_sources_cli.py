"""`prism attest verify` with its other sources: the workspace cache, certificate tables, vTPM session values.

Everything here runs on evidence the tests make themselves (a synthetic AMD-profile chain, the
sandbox TEE and vTPM), trusted through --trust-sandbox-root, so no check needs the shared corpus.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

import app.cli as cli
from app.cli import attest_cmds, collateral_cmds
from core.attestation.snp.certtable import GUID_ARK, GUID_ASK, GUID_VCEK, build_cert_table
from core.attestation.vtpm.attestation import decode_attestation, encode_attestation
from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer
from core.cocos.manifest import computation_to_json
from core.sandbox.eat_builder import AttestationServiceKey, encode_cose_eat, snp_claims, snp_raw_report
from core.sandbox.tee import SandboxTee
from core.sandbox.vtpm import SandboxVtpm
from tests.unit.attestation.snp.synth import AT, CHIP_ID, MILAN_TCB, build_report, synth_chain, synth_leaf

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM


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


def statuses(doc: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in doc["checks"]}


# --- synthetic SNP evidence (AMD profile, sandbox-trusted root) --------------------------------------

@pytest.fixture(scope="module")
def snp_set(tmp_path_factory) -> dict[str, Path]:
    chain = synth_chain()
    vcek = synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID)
    base = tmp_path_factory.mktemp("snp-set")
    files = {"report": base / "report.bin", "ark": base / "ark.pem", "table": base / "certs.bin",
             "extended": base / "extended.bin"}
    report = build_report(reported_tcb=MILAN_TCB)
    table = build_cert_table([(GUID_VCEK, vcek.public_bytes(DER)), (GUID_ASK, chain.ask.public_bytes(DER)),
                              (GUID_ARK, chain.ark.public_bytes(DER))])
    files["report"].write_bytes(report)
    files["ark"].write_bytes(chain.ark.public_bytes(PEM))
    files["table"].write_bytes(table)
    files["extended"].write_bytes(report + table)
    files["vcek_der"] = base / "vcek.der"
    files["vcek_der"].write_bytes(vcek.public_bytes(DER))
    files["chain_pem"] = base / "chain.pem"
    files["chain_pem"].write_bytes(chain.ask.public_bytes(PEM) + chain.ark.public_bytes(PEM))
    return files


def verify_args(s: dict[str, Path], evidence: str = "report", *extra: str | Path) -> list:
    return ["attest", "verify", s[evidence], "--trust-sandbox-root", s["ark"], "--at", AT.isoformat(), *extra]


def _kds(s: dict[str, Path]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/vcek/v1/Milan/cert_chain":
            return httpx.Response(200, content=s["chain_pem"].read_bytes())
        if request.url.path.startswith("/vcek/v1/Milan/"):
            return httpx.Response(200, content=s["vcek_der"].read_bytes())
        return httpx.Response(404)
    return httpx.MockTransport(handler)


# --- 1. the workspace cache ------------------------------------------------------------------------

def test_verify_reads_the_cache_filled_by_fetch(snp_set, monkeypatch):
    code, doc = run_json(*verify_args(snp_set))
    assert code == 1 and statuses(doc)["snp.chain.vcek"] == "fail"  # nothing cached yet
    transport = _kds(snp_set)
    monkeypatch.setattr(collateral_cmds, "make_client", lambda: httpx.AsyncClient(transport=transport))
    code, text = run("collateral", "fetch", snp_set["report"], "--no-crl")
    assert code == 0 and "2 collateral item(s)" in text
    code, doc = run_json(*verify_args(snp_set))
    assert code == 0 and doc["authentic"], doc
    assert statuses(doc)["snp.chain.vcek"] == "pass" and statuses(doc)["snp.signature"] == "pass"
    code, doc = run_json(*verify_args(snp_set, "report", "--no-cache"))
    assert code == 1 and statuses(doc)["snp.chain.vcek"] == "fail"


def test_verify_reads_the_cache_filled_by_a_pack_import(snp_set, tmp_path, monkeypatch):
    transport = _kds(snp_set)
    monkeypatch.setattr(collateral_cmds, "make_client", lambda: httpx.AsyncClient(transport=transport))
    assert run("collateral", "fetch", snp_set["report"], "--no-crl")[0] == 0
    pack = tmp_path / "offline.pack"
    assert run("collateral", "export", "--out", pack)[0] == 0
    monkeypatch.setenv("PRISM_HOME", str(tmp_path / "offline-home"))
    assert run("workspace", "create", "lab")[0] == 0
    assert run("--workspace", "lab", "collateral", "import", pack)[0] == 0
    code, doc = run_json("--workspace", "lab", *verify_args(snp_set))
    assert code == 0 and doc["authentic"]
    # another workspace has its own (empty) cache
    code, doc = run_json(*verify_args(snp_set))
    assert code == 1 and statuses(doc)["snp.chain.vcek"] == "fail"


def test_verify_without_a_workspace_creates_nothing(snp_set, tmp_path, monkeypatch):
    home = tmp_path / "untouched-home"
    monkeypatch.setenv("PRISM_HOME", str(home))
    code, _ = run_json(*verify_args(snp_set, "report", "--chain", snp_set["table"]))
    assert code == 0
    assert not (home / "workspaces").exists()


# --- 3. the extended-report certificate table ------------------------------------------------------

@pytest.mark.parametrize("option", ["--chain", "--collateral", "--vcek"])
def test_certificate_table_as_chain_collateral_or_vcek(snp_set, option):
    code, doc = run_json(*verify_args(snp_set, "report", option, snp_set["table"], "--no-cache"))
    assert code == 0, doc
    assert statuses(doc)["snp.chain.vcek"] == "pass" and statuses(doc)["snp.chain.ask"] == "pass"


def test_report_followed_by_its_table_carries_its_certificates(snp_set):
    code, doc = run_json(*verify_args(snp_set, "extended", "--no-cache"))
    assert code == 0 and statuses(doc)["snp.signature"] == "pass"
    code, shown = run_json("attest", "show", snp_set["extended"])
    fields = [(f["group"], f["name"]) for f in shown["fields"]]
    assert ("evidence", "format") in fields
    assert next(f["value"] for f in shown["fields"] if f["name"] == "format") == "snp-extended"
    assert [n for g, n in fields if g == "certificates"] == ["VCEK", "ASK", "ARK"]


def test_damaged_table_after_a_report_exits_2(snp_set, tmp_path, capsys):
    damaged = tmp_path / "damaged.bin"
    data = snp_set["extended"].read_bytes()
    damaged.write_bytes(data[:1184 + 30])  # the first entry, cut inside the second
    assert run("attest", "verify", damaged)[0] == 2
    err = capsys.readouterr().err
    assert "followed by a damaged certificate table" in err and "outside the table" in err


def test_collateral_file_without_collateral_exits_2(snp_set, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not collateral")
    assert run(*verify_args(snp_set, "report", "--collateral", notes))[0] == 2
    assert "holds no collateral" in capsys.readouterr().err


# --- 2. the vTPM part of SNP-vTPM evidence ---------------------------------------------------------

TEE_NONCE, VTPM_NONCE = b"\x0a" * 40, b"\x0b" * 20


def _computation(label: bytes) -> Computation:
    key = hashlib.sha256(label).digest()  # any bytes stand for a party's key in a manifest
    return Computation(id="c1", name="sum", description="sum a column",
                       algorithm=Algorithm(hash=hashlib.sha3_256(b"algo" + label).digest(), user_key=key),
                       datasets=(Dataset(hash=hashlib.sha3_256(b"data").digest(), user_key=key, filename="d.csv"),),
                       result_consumers=(ResultConsumer(user_key=key),))


@pytest.fixture(scope="module")
def vtpm_set(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("vtpm-set")
    tee, vtpm, comp = SandboxTee(base / "tee"), SandboxVtpm(), _computation(b"ours")
    vtpm.extend_manifest(comp)
    report = tee.report(hashlib.sha3_512(TEE_NONCE.ljust(64, b"\0") + vtpm.ak_pub()).digest())
    snp = snp_raw_report(report, vcek_der=tee.vcek_certificate().public_bytes(DER),
                         ask_der=tee.ask_certificate().public_bytes(DER),
                         ark_der=tee.ark_certificate().public_bytes(DER))
    nonce32 = VTPM_NONCE.ljust(32, b"\0")
    raw = vtpm.attestation(nonce32, snp)
    files = {name: base / name for name in ("eat.bin", "forged.bin", "ark.pem", "ours.json", "other.json")}
    key = AttestationServiceKey()
    for name, attestation in (("eat.bin", raw), ("forged.bin", _forged(raw))):
        claims = snp_claims(report, attestation, nonce32, platform_type="SNP-vTPM")
        files[name].write_bytes(encode_cose_eat(claims, key))
    files["ark.pem"].write_bytes(tee.ark_certificate().public_bytes(PEM))
    files["ours.json"].write_bytes(computation_to_json(comp))
    files["other.json"].write_bytes(computation_to_json(_computation(b"theirs")))
    return files


def _forged(raw: bytes) -> bytes:
    """The same attestation with one quote's signature altered: the TPM did not sign what it says."""
    att = decode_attestation(raw)
    first = att.quotes[0]
    bad_sig = first.raw_sig[:-1] + bytes([first.raw_sig[-1] ^ 1])
    return encode_attestation(replace(att, quotes=(replace(first, raw_sig=bad_sig), *att.quotes[1:])))


def vtpm_verify(s: dict[str, Path], evidence: str = "eat.bin", *extra: str | Path) -> tuple[int, dict]:
    return run_json("attest", "verify", s[evidence], "--trust-sandbox-root", s["ark.pem"], "--no-cache", *extra)


def test_vtpm_checks_that_need_no_session_value_run_from_a_file(vtpm_set):
    code, doc = vtpm_verify(vtpm_set)
    got = statuses(doc)
    assert code == 0 and doc["authentic"], doc
    assert "vtpm.quote" not in got
    for check_id in ("vtpm.evidence.parse", "vtpm.ak.parse", "vtpm.quote.signature", "vtpm.quote.magic",
                     "vtpm.pcr.selection", "vtpm.pcr.digest"):
        assert got[check_id] == "pass", check_id
    for check_id in ("vtpm.quote.nonce", "vtpm.ak.binding", "vtpm.pcr16.manifest"):
        assert got[check_id] == "skip", check_id
    nonce = next(c for c in doc["checks"] if c["id"] == "vtpm.quote.nonce")
    assert "No vTPM nonce was given" in nonce["explanation"]


def test_a_forged_quote_signature_fails_without_any_session_value(vtpm_set):
    code, doc = vtpm_verify(vtpm_set, "forged.bin")
    assert code == 1 and not doc["authentic"]
    assert statuses(doc)["vtpm.quote.signature"] == "fail"


def test_session_values_and_manifest_enable_the_remaining_checks(vtpm_set):
    good = ("--vtpm-nonce", VTPM_NONCE.hex(), "--tee-nonce", TEE_NONCE.hex(), "--manifest", vtpm_set["ours.json"])
    code, doc = vtpm_verify(vtpm_set, "eat.bin", *good)
    assert code == 0 and doc["acceptable"], doc
    assert all(statuses(doc)[i] == "pass" for i in ("vtpm.quote.nonce", "vtpm.ak.binding", "vtpm.pcr16.manifest"))
    code, doc = vtpm_verify(vtpm_set, "eat.bin", "--binding", hashlib.sha512(b"x").hexdigest(),
                            "--vtpm-nonce", "0c" * 32, "--manifest", vtpm_set["other.json"])
    got = statuses(doc)
    assert code == 1 and doc["authentic"] is False
    assert (got["vtpm.quote.nonce"], got["vtpm.ak.binding"], got["vtpm.pcr16.manifest"]) == ("fail", "fail", "fail")


def test_vtpm_options_are_refused_for_other_evidence_and_bad_values(vtpm_set, snp_set, capsys):
    assert run(*verify_args(snp_set, "report", "--vtpm-nonce", "00"))[0] == 2
    assert "only apply to SNP-vTPM evidence" in capsys.readouterr().err
    base = ("attest", "verify", vtpm_set["eat.bin"], "--trust-sandbox-root", vtpm_set["ark.pem"])
    for option, value, message in [("--vtpm-nonce", "zz", "must be hexadecimal"),
                                   ("--vtpm-nonce", "00" * 33, "at most 32 bytes"),
                                   ("--tee-nonce", "00" * 65, "at most 64 bytes"),
                                   ("--binding", "00" * 10, "must be 64 bytes")]:
        assert run(*base, option, value)[0] == 2
        assert message in capsys.readouterr().err, option


def test_the_sandbox_root_is_trusted_only_when_given(vtpm_set):
    code, doc = run_json("attest", "verify", vtpm_set["eat.bin"], "--no-cache")
    assert code == 1 and not doc["authentic"]
    assert statuses(doc)["snp.chain.ask"] == "fail"


def test_trust_sandbox_root_is_checked(snp_set, tmp_path, capsys):
    from tests.unit.attestation.tdx import synth as tdx_synth

    quote = tmp_path / "quote.bin"
    quote.write_bytes(tdx_synth.make_quote())
    assert run("attest", "verify", quote, "--trust-sandbox-root", snp_set["ark"])[0] == 2
    assert "applies to SNP evidence" in capsys.readouterr().err
    assert run("attest", "verify", snp_set["report"], "--trust-sandbox-root", snp_set["table"])[0] == 2
    assert "is not a PEM certificate" in capsys.readouterr().err
