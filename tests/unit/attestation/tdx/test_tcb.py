"""TCB level matching rules (§3.7) on synthetic TCB Info."""

from __future__ import annotations

import pytest

from core.attestation.tdx.collateral import parse_qe_identity, parse_tcb_info
from core.attestation.tdx.pck import load_pem_chain, pck_extensions
from core.attestation.tdx.quote import parse_quote
from core.attestation.tdx.tcb import combine_statuses, evaluate_tcb, match_platform_level

from .synth import PCK_SVNS, PCE_SVN, make_qe_identity, make_quote, make_tcb_info, tcb_level


@pytest.mark.parametrize(("statuses", "combined"), [
    (("UpToDate", "UpToDate", None), "UpToDate"),
    (("UpToDate", "OutOfDate"), "OutOfDate"),
    (("ConfigurationNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded"),
    (("ConfigurationNeeded", "SWHardeningNeeded"), "ConfigurationAndSWHardeningNeeded"),
    (("SWHardeningNeeded", "UpToDate"), "SWHardeningNeeded"),
    (("OutOfDate", "Revoked"), "Revoked"),
    (("Revoked", "NoMatchingTcbLevel"), "NoMatchingTcbLevel"),
])
def test_combine_statuses(statuses, combined: str) -> None:  # type: ignore[no-untyped-def]
    assert combine_statuses(*statuses) == combined


def _evaluate(quote_raw: bytes, tcb_doc: bytes, qe_doc: bytes | None = None):  # type: ignore[no-untyped-def]
    quote = parse_quote(quote_raw)
    pck = pck_extensions(load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)[0])
    qe = parse_qe_identity(qe_doc).qe_identity if qe_doc else None
    return evaluate_tcb(quote.body, pck, parse_tcb_info(tcb_doc).tcb_info,
                        quote.auth_data.qe_certification.qe_report, qe)


def test_first_matching_level_in_served_order_wins() -> None:
    levels = [tcb_level((0,) * 16, 0, (0,) * 16, "SWHardeningNeeded", ("INTEL-SA-A",)),
              tcb_level((0,) * 16, 0, (0,) * 16, "UpToDate")]
    ev = _evaluate(make_quote(), make_tcb_info(levels=levels))
    assert ev.status == "SWHardeningNeeded" and ev.advisory_ids == ("INTEL-SA-A",)


def test_each_sgx_component_is_compared_separately() -> None:
    for index in range(16):
        need = list(PCK_SVNS)
        need[index] += 1   # one component above the platform's: must not match
        ev = _evaluate(make_quote(), make_tcb_info(levels=[tcb_level(tuple(need), PCE_SVN, (0,) * 16, "UpToDate")]))
        assert ev.status == "NoMatchingTcbLevel", index


def test_pcesvn_is_compared() -> None:
    ev = _evaluate(make_quote(), make_tcb_info(levels=[tcb_level(PCK_SVNS, PCE_SVN + 1, (0,) * 16, "UpToDate")]))
    assert ev.status == "NoMatchingTcbLevel"


def test_tdx_15_module_skips_first_two_tdx_components() -> None:
    # TEE_TCB_SVN = 06 01 03: a TDX 1.5 module (minor 1), so components 0 and 1 are not compared
    levels = [tcb_level(PCK_SVNS, PCE_SVN, (9, 9, 3) + (0,) * 13, "UpToDate")]
    ev = _evaluate(make_quote(), make_tcb_info(levels=levels))
    assert ev.platform_status == "UpToDate" and ev.module_identity_id == "TDX_01"
    # a TDX 1.0 module (minor 0) compares from index 0
    ev = _evaluate(make_quote(tee_tcb_svn=bytes([6, 0, 3]) + bytes(13)), make_tcb_info(levels=levels))
    assert ev.status == "NoMatchingTcbLevel" and ev.module_identity_id is None
    levels = [tcb_level(PCK_SVNS, PCE_SVN, (0, 0, 4) + (0,) * 13, "UpToDate")]
    assert _evaluate(make_quote(), make_tcb_info(levels=levels)).status == "NoMatchingTcbLevel"


def test_module_identity_level_folds_in() -> None:
    old = make_quote(tee_tcb_svn=bytes([3, 1, 3]) + bytes(13))   # module SVN 3 < 4 -> OutOfDate level
    ev = _evaluate(old, make_tcb_info())
    assert (ev.platform_status, ev.module_status, ev.status) == ("UpToDate", "OutOfDate", "OutOfDate")
    unknown = make_quote(tee_tcb_svn=bytes([6, 2, 3]) + bytes(13))  # TDX_02 not listed
    assert _evaluate(unknown, make_tcb_info()).status == "NoMatchingTcbLevel"


def test_qe_level_folds_in() -> None:
    ev = _evaluate(make_quote(qe_isv_svn=1), make_tcb_info(), make_qe_identity())
    assert ev.qe_status == "NoMatchingTcbLevel" and ev.status == "NoMatchingTcbLevel"


def test_match_platform_level_none_when_empty_match() -> None:
    quote = parse_quote(make_quote())
    pck = pck_extensions(load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)[0])
    info = parse_tcb_info(make_tcb_info(levels=[tcb_level((255,) * 16, 0, (0,) * 16, "UpToDate")])).tcb_info
    assert match_platform_level(info, pck, quote.body.tee_tcb_svn) is None
