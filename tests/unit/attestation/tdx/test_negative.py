"""Every derived negative TDX case is rejected, with its documented reason."""

from __future__ import annotations

import pytest

from core.attestation.tdx.errors import TdxEvidenceError
from core.attestation.tdx.quote import parse_quote
from core.attestation.tdx.verify import verify_tdx
from core.attestation.verdict import Status

from .corpus import collateral_for, issue_time, quote_bytes, tdx_dir

BASE = "phala_tdx_v4_b0c06f_uptodate"

# file -> the checks that must FAIL (every other crypto check must still pass)
SIGNATURE_CASES = {
    "flip_report_data.bin": {"tdx.signature"},
    "flip_mrtd.bin": {"tdx.signature"},
    "set_debug_bit.bin": {"tdx.signature"},
    "flip_attestation_key.bin": {"tdx.signature", "tdx.qe.binding"},
    "flip_qe_report.bin": {"tdx.qe.signature"},
}
PARSE_CASES = {"tee_type_sgx.bin": "tdx-bad-tee-type", "truncated.bin": "tdx-truncated"}


def _negative(name: str) -> bytes:
    return (tdx_dir("negative_derived") / name).read_bytes()


def test_manifest_lists_exactly_these_cases() -> None:
    manifest = (tdx_dir("negative_derived") / "MANIFEST.txt").read_text()
    listed = {line.split(":")[0] for line in manifest.splitlines() if ".bin:" in line}
    assert listed == set(SIGNATURE_CASES) | set(PARSE_CASES)


@pytest.mark.parametrize(("name", "failing"), sorted(SIGNATURE_CASES.items()))
def test_signature_mutations_rejected(name: str, failing: set[str]) -> None:
    collateral = collateral_for(BASE, None)
    verdict = verify_tdx(_negative(name), collateral, at=issue_time(collateral))
    assert not verdict.authentic
    assert {c.id for c in verdict.failures()} == failing


@pytest.mark.parametrize(("name", "code"), sorted(PARSE_CASES.items()))
def test_format_mutations_rejected(name: str, code: str) -> None:
    with pytest.raises(TdxEvidenceError) as info:
        parse_quote(_negative(name))
    assert info.value.code == code
    verdict = verify_tdx(_negative(name), collateral_for(BASE, None))
    parse = verdict.get("tdx.quote.parse")
    assert parse.status is Status.FAIL and parse.actual == code
    assert not verdict.authentic and len(verdict.checks) == 1


def test_fmspc_mismatch_against_other_tcb_info() -> None:
    collateral = collateral_for("teekit_moemahhouk_v4_90c06f", "90c06f000000")
    verdict = verify_tdx(quote_bytes(BASE), collateral, at=issue_time(collateral))
    assert verdict.get("tdx.tcbinfo.platform").status is Status.FAIL
    assert "b0c06f000000" in verdict.get("tdx.tcbinfo.platform").actual
    assert verdict.get("tdx.tcb.status").status is Status.FAIL
    assert not verdict.authentic
