"""Typed errors for TDX evidence that cannot be read.

Every parser in this package raises :class:`TdxEvidenceError` (an ``EvidenceError``), with a
stable ``code`` naming the reason so callers and tests can tell a truncated quote from an SGX one.
Authenticity failures are never raised: the verifier records them as checks in the Verdict.
"""

from __future__ import annotations

from core.errors import BadInput, EvidenceError


class TdxEvidenceError(EvidenceError):
    """A TDX quote, PCK certificate or collateral object that does not parse."""

    code = "tdx-bad-evidence"


class TdxPolicyError(BadInput):
    """A TDX policy document that cannot be read (bad JSON, unknown key, wrong length)."""

    code = "tdx-bad-policy"


def truncated(what: str, needed: int, available: int, hint: str = "") -> TdxEvidenceError:
    """The one wording for 'ran out of bytes', so every truncation reads the same."""
    message = f"the {what} is truncated ({available} of {needed} bytes)"
    if hint:
        message += f"; {hint}"
    return TdxEvidenceError(message, code="tdx-truncated")
