"""RFC 5280 revocation reasons under the names the CLI accepts."""

from __future__ import annotations

from cryptography import x509

from core.ca.errors import InvalidCAInput

__all__ = ["REVOCATION_REASONS", "reason_flag", "normalise_reason"]

_FLAGS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "certificate-hold": x509.ReasonFlags.certificate_hold,
    "privilege-withdrawn": x509.ReasonFlags.privilege_withdrawn,
}

#: the reasons ``CertificateAuthority.revoke`` accepts, in RFC 5280 code order
REVOCATION_REASONS: tuple[str, ...] = tuple(_FLAGS)

# Also accept the RFC's own spellings ("keyCompromise") and snake_case, which people paste.
_ALIASES = {flag.value.lower(): name for name, flag in _FLAGS.items()}
_ALIASES.update({flag.name: name for name, flag in _FLAGS.items()})


def normalise_reason(reason: str) -> str:
    """The CLI name of a reason given in any accepted spelling; BadInput otherwise."""
    if not isinstance(reason, str):
        raise InvalidCAInput(f"a revocation reason must be text, not {type(reason).__name__}")
    key = reason.strip().lower()
    name = key if key in _FLAGS else _ALIASES.get(key.replace("-", "_")) or _ALIASES.get(key)
    if name is None:
        raise InvalidCAInput(
            f"unknown revocation reason {reason!r}; use one of: {', '.join(REVOCATION_REASONS)}",
            code="bad-revocation-reason",
        )
    return name


def reason_flag(name: str) -> x509.ReasonFlags | None:
    """The flag to put in CRLs and OCSP responses.

    RFC 5280 5.3.1: the reasonCode extension SHOULD be absent rather than say "unspecified".
    """
    flag = _FLAGS[normalise_reason(name)]
    return None if flag is x509.ReasonFlags.unspecified else flag
