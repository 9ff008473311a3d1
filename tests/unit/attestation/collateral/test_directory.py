"""Loose folders: classification by content, and verification from folder / pack / cache.

The real corpus runs through ``shared_testdata`` (skipped when absent); the synthetic folder test
runs everywhere, so the full path folder -> items -> snp_inputs -> verify_snp is always exercised.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.directory import CollateralDirError, load_collateral_dir
from core.attestation.collateral.pack import export_pack, import_pack
from core.attestation.collateral.select import snp_inputs, tdx_collateral
from core.attestation.roots import TrustStore
from core.attestation.snp.certs import common_name
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.snp.verify import verify_snp
from core.attestation.tdx.verify import verify_tdx
from core.attestation.verdict import Status
from tests.conftest import shared_testdata
from tests.unit.attestation.snp.synth import (
    AT, CHIP_ID, MILAN_TCB, build_report, synth_chain, synth_crl, synth_leaf,
)

from .helpers import der, pem


def _utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


# --- synthetic (always runs) ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chain = synth_chain(Product.MILAN)
    folder = tmp_path_factory.mktemp("synth-collateral")
    # odd names on purpose: content decides what each file is
    (folder / "a.bin").write_bytes(der(synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID)))
    (folder / "b.txt").write_bytes(pem(chain.ask, chain.ark))
    (folder / "c").write_bytes(synth_crl(chain).public_bytes(_der_encoding()))
    (folder / "report.bin").write_bytes(build_report(reported_tcb=MILAN_TCB))
    (folder / "NOTES.md").write_text("not collateral")
    return folder


def _der_encoding():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding
    return Encoding.DER


def _sandbox() -> TrustStore:
    trust = TrustStore()
    trust.add_sandbox_root(synth_chain(Product.MILAN).ark)
    return trust


def test_synthetic_folder_is_classified_by_content(synth_folder: Path) -> None:
    items = load_collateral_dir(synth_folder)
    assert [(i.kind, i.key) for i in items] == [
        (K.AMD_CERT_CHAIN, "vcek/Milan"), (K.AMD_CRL, "vcek/Milan"),
        (K.AMD_VCEK, K.vcek_key(Product.MILAN, CHIP_ID, MILAN_TCB))]
    assert all(i.source_url.startswith("file://") for i in items)


def test_synthetic_folder_verifies_through_a_pack_on_a_fresh_cache(synth_folder: Path, tmp_path: Path) -> None:
    report = (synth_folder / "report.bin").read_bytes()
    pack = export_pack(load_collateral_dir(synth_folder), tmp_path / "pack.zip")
    cache = CollateralCache(tmp_path / "fresh")
    import_pack(pack, cache)
    vcek, chain, crl = snp_inputs(cache, report)
    assert vcek is not None and crl is not None and len(chain) == 2
    verdict = verify_snp(report, vcek=vcek, chain=chain, crl=crl, trust=_sandbox(), at=AT)
    assert verdict.authentic, [(c.id, c.explanation) for c in verdict.failures()]
    assert verdict.get("snp.crl").status is Status.PASS


def test_snp_inputs_ignores_a_vcek_for_another_tcb(synth_folder: Path) -> None:
    other = TcbVersion.from_components(bootloader=4, tee=0, snp=24, microcode=220)
    report = build_report(reported_tcb=other)
    vcek, chain, _ = snp_inputs(load_collateral_dir(synth_folder), report)
    assert vcek is None and len(chain) == 2
    verdict = verify_snp(report, vcek=vcek, chain=chain, trust=_sandbox(), at=AT)
    assert verdict.get("snp.chain.vcek").status is Status.FAIL


def test_missing_folder_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(CollateralDirError, match="does not exist"):
        load_collateral_dir(tmp_path / "nope")


def test_a_bundle_with_leaf_and_cas_is_split(tmp_path: Path) -> None:
    chain = synth_chain(Product.MILAN)
    leaf = synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID)
    (tmp_path / "vcek_ask_ark.pem").write_bytes(pem(leaf, chain.ask, chain.ark))
    kinds = sorted((i.kind, i.key) for i in load_collateral_dir(tmp_path))
    assert kinds == [(K.AMD_CA_CERT, "ARK/Milan"), (K.AMD_CA_CERT, "ASK/Milan"),
                     (K.AMD_VCEK, K.vcek_key(Product.MILAN, CHIP_ID, MILAN_TCB))]


# --- the real corpus ----------------------------------------------------------------------------

REAL_SNP = {
    "virtee_sev_milan_v2_vcek": "2023-05-01",
    "trustee_milan_v2_vcek": "2024-07-03",   # REPORTED_TCB < CURRENT_TCB
    "mstav_milan_v3_vcek": "2026-02-06",
    "mstav_genoa_v3_vcek": "2026-02-06",
    "mstav_turin_v5_vcek": "2026-02-06",
    "trustee_aws_milan_v3_vlek": "2025-05-28",
    "trustee_azure_vtpm_milan_hclreport": "2024-07-03",
}


@pytest.mark.parametrize("name", sorted(REAL_SNP))
def test_real_snp_folder_reaches_an_authentic_verdict(name: str) -> None:
    folder = shared_testdata("attestation", "snp", name)
    report = (folder / "report.bin").read_bytes()
    vcek, chain, crl = snp_inputs(load_collateral_dir(folder), report)
    assert vcek is not None
    verdict = verify_snp(report, vcek=vcek, chain=chain, crl=crl, at=_utc(REAL_SNP[name]))
    assert verdict.authentic, [(c.id, c.explanation) for c in verdict.failures()]
    assert verdict.get("snp.tcb.match").status is Status.PASS


def test_real_vlek_mismatch_still_fails_the_signature() -> None:
    folder = shared_testdata("attestation", "snp", "constellation_vlek_milan_v2_MISMATCH")
    report = (folder / "report.bin").read_bytes()
    vcek, chain, crl = snp_inputs(load_collateral_dir(folder), report)
    verdict = verify_snp(report, vcek=vcek, chain=chain, crl=crl, at=_utc("2023-11-24"))
    assert not verdict.authentic


def test_real_v2_report_picks_the_vcek_by_content_across_products() -> None:
    # amd_roots has every product's CA certificates; the v2 report does not name its product
    roots = load_collateral_dir(shared_testdata("attestation", "snp", "amd_roots"))
    folder = shared_testdata("attestation", "snp", "virtee_sev_milan_v2_vcek")
    items = roots + [i for i in load_collateral_dir(folder) if i.kind == K.AMD_VCEK]
    vcek, chain, _ = snp_inputs(items, (folder / "report.bin").read_bytes())
    assert vcek is not None
    assert {common_name(c) for c in chain} == {"ARK-Milan", "SEV-Milan", "SEV-VLEK-Milan"}


def _tdx_at(collateral) -> datetime:  # type: ignore[no-untyped-def]
    return max(collateral.tcb_info.tcb_info.issue_date, collateral.qe_identity.qe_identity.issue_date)


def test_real_tdx_folder_reaches_an_authentic_verdict(tmp_path: Path) -> None:
    folder = shared_testdata("attestation", "tdx", "phala_tdx_v4_b0c06f_uptodate")
    quote = (folder / "quote.bin").read_bytes()
    cache = CollateralCache(tmp_path / "c")
    import_pack(export_pack(load_collateral_dir(folder), tmp_path / "p.zip"), cache)
    collateral = tdx_collateral(cache, quote)
    verdict = verify_tdx(quote, collateral, at=_tdx_at(collateral))
    assert verdict.authentic, [(c.id, c.explanation) for c in verdict.failures()]
    later = verify_tdx(quote, collateral, at=_tdx_at(collateral) + timedelta(days=60))
    assert not later.authentic  # the collateral expired: reported as a check, not a crash


def test_real_tdx_quote_with_shared_collateral_folders() -> None:
    quote = (shared_testdata("attestation", "tdx", "teekit_azure_v4") / "quote.bin").read_bytes()
    items = (load_collateral_dir(shared_testdata("attestation", "tdx", "collateral_2025"))
             + load_collateral_dir(shared_testdata("attestation", "tdx", "intel_root")))
    collateral = tdx_collateral(items, quote)
    assert collateral.tcb_info is not None and collateral.root_crl is not None
    assert collateral.tcb_info_issuer_chain  # the TCB signing chain from intel_root
    fmspc = collateral.tcb_info.tcb_info.fmspc
    assert (K.INTEL_TCB_INFO, fmspc.hex()) in {(i.kind, i.key) for i in items}
