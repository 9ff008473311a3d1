"""Intel TDX evidence: parse DCAP quotes v4/v5, verify them against Intel collateral, match the
TCB level, and validate them against a participant's policy (ATTESTATION.md §3)."""

from __future__ import annotations

from .checks import CHECKS
from .collateral import TdxCollateral, load_collateral_dir, parse_qe_identity, parse_tcb_info
from .errors import TdxEvidenceError, TdxPolicyError
from .layout import FIELDS, field_spans
from .pck import PckExtensions, parse_sgx_extension, pck_extensions
from .policy import AdvisoryWaiver, TdxPolicy, validate_tdx
from .quote import TdxQuote, parse_quote
from .roots import TdxTrust, intel_sgx_root
from .tcb import TcbEvaluation, evaluate_tcb
from .verify import evaluate_quote_tcb, verify_tdx

__all__ = [
    "CHECKS", "FIELDS", "AdvisoryWaiver", "PckExtensions", "TcbEvaluation", "TdxCollateral",
    "TdxEvidenceError", "TdxPolicy", "TdxPolicyError", "TdxQuote", "TdxTrust", "evaluate_quote_tcb",
    "evaluate_tcb", "field_spans", "intel_sgx_root", "load_collateral_dir", "parse_qe_identity",
    "parse_quote", "parse_sgx_extension", "parse_tcb_info", "pck_extensions", "validate_tdx",
    "verify_tdx",
]
