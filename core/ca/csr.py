"""Certificate signing requests: parse, check the proof of possession, extract what we honour.

Only the public key and the subject alternative names of a CSR are used; every other
requested extension (CA flags, key usages) is ignored because the CA's profile decides those.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from core.ca.builder import LeafPublicKey, check_leaf_public_key, common_name_of
from core.ca.errors import InvalidCAInput, InvalidCSR
from core.ca.sans import san_string

__all__ = ["CSRRequest", "load_csr"]

_MAX_CSR_BYTES = 64 * 1024
_PEM_MARKER = b"-----BEGIN"


@dataclass(frozen=True, slots=True)
class CSRRequest:
    """The parts of a verified CSR that the CA honours."""

    public_key: LeafPublicKey
    common_name: str
    sans: tuple[str, ...]


def load_csr(data: bytes) -> CSRRequest:
    """Parse a PEM (or DER) CSR and verify its self-signature; InvalidCSR (a BadInput) otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidCSR(f"a CSR must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data.strip():
        raise InvalidCSR("the CSR is empty; pass the PEM file produced by your TLS tool")
    if len(data) > _MAX_CSR_BYTES:
        raise InvalidCSR(f"the CSR is {len(data)} bytes; a real one is far below {_MAX_CSR_BYTES} bytes")
    csr = _parse(data)
    try:
        key = csr.public_key()
        signature_ok = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # odd key or signature algorithms
        raise InvalidCSR(f"the CSR's key or signature cannot be read ({exc})") from None
    if not signature_ok:
        raise InvalidCSR("the CSR's signature does not match its public key; it was altered or "
                         "signed with another key, so regenerate it")
    try:
        public_key = check_leaf_public_key(key)
    except InvalidCAInput as exc:
        raise InvalidCSR(f"the CSR's key cannot be certified: {exc}") from None
    return CSRRequest(public_key=public_key, common_name=_common_name(csr), sans=_sans(csr))


def _parse(data: bytes) -> x509.CertificateSigningRequest:
    try:
        if _PEM_MARKER in data:
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except (ValueError, TypeError, x509.InvalidVersion) as exc:
        raise InvalidCSR(f"this is not a readable certificate signing request ({exc}); "
                         "pass a PEM file beginning with '-----BEGIN CERTIFICATE REQUEST-----'") from None


def _common_name(csr: x509.CertificateSigningRequest) -> str:
    try:
        return common_name_of(csr).strip()
    except (ValueError, TypeError):
        raise InvalidCSR("the CSR's subject cannot be decoded") from None


def _sans(csr: x509.CertificateSigningRequest) -> tuple[str, ...]:
    try:
        extension = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise InvalidCSR(f"the CSR's extensions cannot be decoded ({exc}); regenerate it") from None
    try:
        return tuple(san_string(name) for name in extension.value)
    except InvalidCAInput as exc:
        raise InvalidCSR(f"the CSR asks for a name this CA does not issue: {exc}") from None
