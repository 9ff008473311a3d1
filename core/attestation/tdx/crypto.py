"""ECDSA P-256 primitives for TDX evidence, with small caches for what repeats across quotes.

Certificate, CRL and collateral signatures are the same for every quote from one platform (and
for every platform, for the Intel CAs), so their verification results are memoised by the exact
bytes involved. Quote and QE report signatures are never cached.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

_CACHE_LIMIT = 512
_cache: dict[tuple[bytes, ...], bool] = {}
# id(obj) -> (obj, value): the object is kept alive in the entry, so its id cannot be reused
# while the entry exists, and ``entry[0] is obj`` proves the hit is for this very object
_by_identity: dict[tuple[int, str], tuple[object, object]] = {}


def clear_caches() -> None:
    _cache.clear()
    _by_identity.clear()


def memo_by_identity(obj: object, kind: str, compute):  # type: ignore[no-untyped-def]
    """``compute(obj)`` once per live object (certificates and CRLs are immutable)."""
    key = (id(obj), kind)
    entry = _by_identity.get(key)
    if entry is not None and entry[0] is obj:
        return entry[1]
    value = compute(obj)
    if len(_by_identity) >= _CACHE_LIMIT:
        _by_identity.clear()
    _by_identity[key] = (obj, value)
    return value


def der_of(obj: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return memo_by_identity(obj, "der", lambda o: o.public_bytes(Encoding.DER))  # type: ignore[no-any-return]


def _memo(key: tuple[bytes, ...], compute) -> bool:  # type: ignore[no-untyped-def]
    hit = _cache.get(key)
    if hit is not None:
        return hit
    result = bool(compute())
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()  # bounded; a rare full reset is simpler than LRU bookkeeping
    _cache[key] = result
    return result


def p256_key_from_raw(xy: bytes) -> ec.EllipticCurvePublicKey | None:
    """A raw X||Y attestation key as a public key, or None when it is not a P-256 point."""
    if len(xy) != 64:
        return None
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + xy)
    except ValueError:
        return None


def is_p256(key: object) -> bool:
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)


def verify_raw(key: ec.EllipticCurvePublicKey, signature_rs: bytes, message: bytes) -> bool:
    """ECDSA P-256/SHA-256 with a raw big-endian r||s signature."""
    if len(signature_rs) != 64:
        return False
    r = int.from_bytes(signature_rs[:32], "big")
    s = int.from_bytes(signature_rs[32:], "big")
    if not (0 < r and 0 < s):
        return False
    try:
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_raw_cached(signer: x509.Certificate, signature_rs: bytes, message: bytes) -> bool:
    """``verify_raw`` with the signer's key, memoised (collateral bodies repeat across quotes)."""
    key = signer.public_key()
    if not is_p256(key):
        return False
    return _memo(
        (b"raw", der_of(signer), signature_rs, message),
        lambda: verify_raw(key, signature_rs, message),  # type: ignore[arg-type]
    )


def cert_issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Issuer name matches and the parent's key verifies the child's signature (memoised)."""

    def compute() -> bool:
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    return _memo((b"cert", der_of(child), der_of(parent)), compute)


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """The CRL's issuer name is the certificate's subject and its signature verifies (memoised)."""

    def compute() -> bool:
        if crl.issuer != issuer.subject:
            return False
        key = issuer.public_key()
        if not is_p256(key):
            return False
        try:
            return crl.is_signature_valid(key)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return False

    return _memo((b"crl", der_of(crl), der_of(issuer)), compute)
