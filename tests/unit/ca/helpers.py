"""Test helpers for the CA: keys, CSRs and verification through cryptography's own verifier."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

START = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand, so expiry needs no sleeping."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class AuditLog(list):
    def __call__(self, action, subject, details):
        self.append((action, subject, details))

    @property
    def actions(self) -> list[str]:
        return [action for action, _, _ in self]


def make_csr(common_name: str = "agent.local", sans: tuple[x509.GeneralName, ...] = (),
             key: ec.EllipticCurvePrivateKey | None = None,
             extra: x509.ExtensionType | None = None) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM), key


def tamper_csr(pem: bytes, old: bytes, new: bytes) -> bytes:
    """Change signed bytes of a CSR (same length) so that it parses but its signature fails."""
    csr = x509.load_pem_x509_csr(pem)
    der = csr.public_bytes(serialization.Encoding.DER)
    assert len(old) == len(new) and der.count(old) == 1
    return der.replace(old, new)


def verify_server(leaf: x509.Certificate, ca: x509.Certificate, host: str, at: datetime) -> None:
    """Raises verification.VerificationError unless ``leaf`` is a valid server certificate for ``host``."""
    verifier = (verification.PolicyBuilder().store(verification.Store([ca])).time(at)
                .build_server_verifier(_subject(host)))
    verifier.verify(leaf, [])


def verify_client(leaf: x509.Certificate, ca: x509.Certificate, at: datetime) -> verification.VerifiedClient:
    verifier = verification.PolicyBuilder().store(verification.Store([ca])).time(at).build_client_verifier()
    return verifier.verify(leaf, [])


def _subject(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def resign_csr(pem: bytes, old: bytes, new: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """Edit a CSR's signed part and sign it again, so that it passes the proof of possession.

    This reaches parsing stages that a mere tampered CSR never gets to (they stop at the signature).
    """
    csr = x509.load_pem_x509_csr(pem)
    tbs = csr.tbs_certrequest_bytes
    assert tbs.count(old) == 1 and len(old) == len(new)
    tbs = tbs.replace(old, new)
    der = csr.public_bytes(serialization.Encoding.DER)
    start = der.index(csr.tbs_certrequest_bytes) + len(csr.tbs_certrequest_bytes)
    algorithm = der[start:start + 2 + der[start + 1]]  # the short-form AlgorithmIdentifier SEQUENCE
    signature = b"\x00" + key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    bit_string = b"\x03" + _der_length(len(signature)) + signature
    body = tbs + algorithm + bit_string
    return b"\x30" + _der_length(len(body)) + body
