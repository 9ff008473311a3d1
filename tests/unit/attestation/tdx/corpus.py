"""Access to the shared real TDX corpus (skips when absent) and its expected outcomes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from core.attestation.tdx.collateral import (
    TdxCollateral,
    load_collateral_dir,
    load_issuer_chain,
    parse_crl,
)
from tests.conftest import shared_testdata


def tdx_dir(*parts: str) -> Path:
    return shared_testdata("attestation", "tdx", *parts)


def intel_fallback() -> TdxCollateral:
    """The 2025 TCB signing chain and Root CA CRL, for sets that ship only TCB Info/QE Identity."""
    root = tdx_dir("intel_root")
    chain = load_issuer_chain(root / "TCB_Signing_chain_2025.pem", "TCB signing chain")
    return TdxCollateral(
        tcb_info_issuer_chain=chain,
        qe_identity_issuer_chain=chain,
        root_crl=parse_crl((root / "IntelSGXRootCA_crl_2025.der").read_bytes(), "Root CA CRL"),
    )


def collateral_for(set_name: str, fmspc: str | None) -> TdxCollateral:
    """The set's own collateral, or collateral_2025 for ``fmspc``, completed from intel_root."""
    base = load_collateral_dir(tdx_dir(set_name)) if fmspc is None else \
        load_collateral_dir(tdx_dir("collateral_2025"), fmspc=fmspc)
    return base.merged_with(intel_fallback())


def issue_time(collateral: TdxCollateral) -> datetime:
    """The fixed verification time: when the newest collateral object was issued."""
    assert collateral.tcb_info is not None and collateral.qe_identity is not None
    return max(collateral.tcb_info.tcb_info.issue_date, collateral.qe_identity.qe_identity.issue_date)


def quote_bytes(set_name: str) -> bytes:
    return (tdx_dir(set_name) / "quote.bin").read_bytes()
