"""Cheap synthetic collateral for the collateral tests (fresh-machine evidence, no shared corpus)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=None)
def _key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])


@lru_cache(maxsize=None)
def cert(cn: str = "test leaf", days: int = 30, start: datetime = T0) -> x509.Certificate:
    key = _key(cn)
    return (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(7).not_valid_before(start)
            .not_valid_after(start + timedelta(days=days)).sign(key, hashes.SHA256()))


def der(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@lru_cache(maxsize=None)
def crl(issuer_cn: str = "ARK-Milan", start: datetime = T0, days: int = 7) -> bytes:
    key = _key(issuer_cn)
    built = (x509.CertificateRevocationListBuilder().issuer_name(_name(issuer_cn)).last_update(start)
             .next_update(start + timedelta(days=days)).sign(key, hashes.SHA256()))
    return built.public_bytes(serialization.Encoding.DER)


LEVEL = ('{"tcb":{"sgxtcbcomponents":[' + ",".join(['{"svn":1}'] * 16) + '],"pcesvn":11,'
         '"tdxtcbcomponents":[' + ",".join(['{"svn":0}'] * 16) + ']},"tcbDate":"2024-03-13T00:00:00Z",'
         '"tcbStatus":"UpToDate"}')


def tcb_info_json(fmspc: str = "B0C06F000000", issue: str = "2025-03-01T00:00:00Z",
                  next_update: str = "2025-03-31T00:00:00Z") -> bytes:
    module = '{"mrsigner":"' + "00" * 48 + '","attributes":"' + "00" * 8 + '","attributesMask":"' + "FF" * 8 + '"}'
    body = ('{"id":"TDX","version":3,"issueDate":"' + issue + '","nextUpdate":"' + next_update
            + '","fmspc":"' + fmspc + '","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":17,'
            '"tdxModule":' + module + ',"tdxModuleIdentities":[],"tcbLevels":[' + LEVEL + ']}')
    return ('{"tcbInfo":' + body + ',"signature":"' + "ab" * 64 + '"}').encode()
