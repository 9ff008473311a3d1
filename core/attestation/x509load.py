"""Load certificates and CRLs from untrusted bytes, parsed completely up front.

cryptography parses names, extensions and revoked entries lazily: a certificate that loads can still
raise when its subject is first read, far from the loader and outside its error handling. Every
loader of evidence goes through here, so malformed input fails in one place, as ``MalformedX509``
(a ``ValueError``, which the callers' own handlers already turn into their typed errors).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

#: what cryptography raises, at load or on first access, for malformed or unsupported DER
_PARSE_ERRORS = (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType,
                 x509.InvalidVersion, UnsupportedAlgorithm)


class MalformedX509(ValueError):
    """Bytes that are not a well-formed certificate or CRL."""


def fully_parsed(cert: x509.Certificate) -> x509.Certificate:
    """``cert`` after touching every lazily parsed part; MalformedX509 if any part is malformed."""
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        for extension in cert.extensions:
            extension.value  # noqa: B018 - the access is the parse
        cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
        cert.public_key()
    except _PARSE_ERRORS as exc:
        raise MalformedX509(f"malformed certificate: {exc}") from exc
    return cert


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in PEM text (one or many), or the one DER certificate; fully parsed."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except _PARSE_ERRORS as exc:
        raise MalformedX509(str(exc)) from exc
    return [fully_parsed(c) for c in certs]


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in DER or PEM, with its issuer, extensions and every entry parsed."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            crl = x509.load_pem_x509_crl(data.strip())
        else:
            crl = x509.load_der_x509_crl(data)
        crl.issuer.rfc4514_string()
        for extension in crl.extensions:
            extension.value  # noqa: B018
        crl.last_update_utc, crl.next_update_utc  # noqa: B018
        for entry in crl:
            entry.serial_number, entry.revocation_date_utc  # noqa: B018
            for extension in entry.extensions:
                extension.value  # noqa: B018
    except _PARSE_ERRORS as exc:
        raise MalformedX509(f"malformed CRL: {exc}") from exc
    return crl
