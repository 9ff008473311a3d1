"""A self-made aTLS session for tests that must run on a fresh machine.

It plays the Cocos agent: an ephemeral leaf, an EAT we encode ourselves around a synthetic
hardware report whose REPORT_DATA we choose, and made-up exporter values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from core.atls import SessionExporters, build_authenticator, make_request, suite_hash
from core.atls.binding import compute_binder, eat_nonce, expected_report_data
from core.atls.spki import raw_spki
from core.attestation.eat_encode import encode_eat_cose, encode_eat_jwt
from core.attestation.eat_wrappers import encode_sevsnp_attestation, encode_tpm_attestation
from core.attestation.snp.fields import FIELD_BY_NAME, REPORT_SIZE

CONTEXT = bytes(range(32))
AK_PUB = b"\x00\x23\x00\x0b" + bytes(range(60))  # stands in for a TPMT_PUBLIC


@lru_cache(maxsize=None)
def eat_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def leaf_key(kind: str = "p256") -> Any:
    return _leaf_key(kind)


@lru_cache(maxsize=None)
def _leaf_key(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def leaf_der(kind: str = "p256") -> bytes:
    return _leaf_der(kind)


@lru_cache(maxsize=None)
def _leaf_der(kind: str) -> bytes:
    """A self-signed leaf like the agent's ephemeral one (CN cocos-atls-ephemeral, O Ultraviolet)."""
    key = leaf_key(kind)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cocos-atls-ephemeral"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ultraviolet")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=24))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, None if kind == "ed25519" else hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def exporters(hash_name: str = "sha256", *, attestation: bytes = b"\xaa" * 32) -> SessionExporters:
    h = suite_hash(hash_name)
    return SessionExporters(h, b"\x11" * h.length, b"\x22" * h.length, attestation)


def snp_report(report_data: bytes, *, version: int = 3) -> bytes:
    """A format-valid (unsigned) SNP report carrying ``report_data``."""
    report = bytearray(REPORT_SIZE)

    def put(name: str, value: int | bytes) -> None:
        spec = FIELD_BY_NAME[name]
        raw = value.ljust(spec.size, b"\0") if isinstance(value, bytes) else value.to_bytes(spec.size, "little")
        report[spec.offset:spec.end] = raw

    put("version", version)
    put("policy", 0x30000)
    put("vmpl", 2)
    put("signature_algo", 1)
    put("report_data", report_data)
    put("measurement", b"\x5f" * 48)
    put("report_id_ma", b"\xff" * 32)
    if version >= 3:
        report[0x188:0x18B] = bytes((0x19, 0x01, 0x01))  # Milan B1
    put("chip_id", bytes(range(1, 65)))
    put("signature_r", b"\x01" * 48)
    put("signature_s", b"\x02" * 48)
    return bytes(report)


def eat_claims(nonce: bytes, platform: str, raw_report: bytes) -> dict[str, Any]:
    return {"iss": "cocos-attestation-service", "iat": 1_795_552_562, "exp": 1_795_552_862,
            "eat_nonce": nonce, "ueid": b"\x4f" * 64, "oemid": 3704, "hwmodel": b"SEV-SNP-3",
            "dbgstat": 2, "intuse": 1, "measurements": b"\x5f" * 48, "platform_type": platform,
            "raw_report": raw_report}


@dataclass(frozen=True)
class Session:
    """One synthetic exchange: what the client sent, what the server answered, the exporters."""

    request: bytes
    authenticator: bytes
    exporters: SessionExporters
    leaf: bytes
    eat: bytes


def raw_report_for(platform: str, report_data: bytes) -> bytes:
    if platform == "SNP":
        return encode_sevsnp_attestation(snp_report(report_data), product=1)
    if platform == "SNP-vTPM":
        return encode_tpm_attestation(AK_PUB, encode_sevsnp_attestation(snp_report(report_data), product=1))
    raise ValueError(platform)


def bound_report_data(platform: str, leaf: bytes, ex: SessionExporters) -> bytes:
    """The REPORT_DATA a genuine TEE would put in its report for this session."""
    binding = compute_binder(raw_spki(leaf), ex.attestation, ex.hash).binding
    return expected_report_data("snp-vtpm" if platform == "SNP-vTPM" else "snp", binding, AK_PUB)


def make_session(*, platform: str = "SNP", hash_name: str = "sha256", kind: str = "p256",
                 form: str = "cose", bound: bool = True, raw_report: bytes | None = None,
                 nonce: bytes | None = None, cmw_payload: bytes | None = None,
                 schemes: tuple[int, ...] | None = None) -> Session:
    ex = exporters(hash_name)
    leaf = leaf_der(kind)
    if raw_report is None:
        data = bound_report_data(platform, leaf, ex) if bound else b"\x42" * 64
        raw_report = raw_report_for(platform, data)
    claims = eat_claims(eat_nonce(ex.attestation) if nonce is None else nonce, platform, raw_report)
    eat = encode_eat_jwt(claims, eat_key()) if form == "jwt" else encode_eat_cose(claims, eat_key())
    request = make_request(CONTEXT) if schemes is None else make_request(CONTEXT, schemes)
    auth = build_authenticator(request, [leaf], leaf_key(kind), ex, eat, cmw_payload=cmw_payload)
    return Session(request, auth, ex, leaf, eat)


def with_exporters(session: Session, **changes: bytes) -> Session:
    return replace(session, exporters=replace(session.exporters, **changes))


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1:]


def tdx_report_data_quote(report_data: bytes) -> bytes:
    """A TDX v4 quote carrying ``report_data`` (built by the TDX tests' own generator)."""
    from tests.unit.attestation.tdx.synth import make_quote
    return make_quote(report_data=report_data)

