"""The simulated TEE's certificate chain: sandbox ARK -> ASK -> VCEK (ATTESTATION.md §2.5-§2.6).

Same X.509 profile as AMD's (RSA-4096 CAs signing with RSASSA-PSS SHA-384 salt 48, an EC P-384
leaf with serial 0 and the AMD extension arc), because the app's SNP verifier checks that profile.

Naming: the verifier identifies certificates by CN (``ARK-<product>``, ``SEV-<product>``,
``SEV-VCEK``) and insists on AMD's OU/C/L/ST/O attributes for the ASK and VCEK, so those stay.
What marks every certificate as ours is an extra DN qualifier attribute, ``Prism Sandbox``, that
AMD never uses; and trust never comes from names anyway: an AMD root is trusted only if it
byte-matches its pin, a sandbox root only after ``TrustStore.add_sandbox_root``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from core.attestation.snp.certs import load_certificate
from core.attestation.snp.der import (
    TAG_IA5STRING, TAG_INTEGER, TAG_SEQUENCE, encode_integer, encode_tlv, read_tlv,
)
from core.attestation.snp.tcb import Product, TcbVersion

SANDBOX_MARK = "Prism Sandbox"
AMD_ARC = "1.3.6.1.4.1.3704.1."
CA_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
_KDS_CRL = "https://kdsintf.amd.com/vcek/v1/{product}/crl"
_BIT_STRING = 0x03


@dataclass(frozen=True, slots=True)
class ChainKeys:
    ark: rsa.RSAPrivateKey
    ask: rsa.RSAPrivateKey
    vcek: ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SandboxChain:
    ark: x509.Certificate
    ask: x509.Certificate
    vcek: x509.Certificate


def sandbox_name(cn: str) -> x509.Name:
    oid = x509.NameOID
    return x509.Name([
        x509.NameAttribute(oid.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(oid.COUNTRY_NAME, "US"),
        x509.NameAttribute(oid.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(oid.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(oid.ORGANIZATION_NAME, "Advanced Micro Devices"),
        x509.NameAttribute(oid.DN_QUALIFIER, SANDBOX_MARK),
        x509.NameAttribute(oid.COMMON_NAME, cn),
    ])


def is_sandbox_certificate(cert: x509.Certificate) -> bool:
    """Whether the subject carries the sandbox mark (informative; trust comes from pins)."""
    values = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.DN_QUALIFIER)]
    return SANDBOX_MARK in values


def generate_keys() -> ChainKeys:
    return ChainKeys(ark=rsa.generate_private_key(public_exponent=65537, key_size=4096),
                     ask=rsa.generate_private_key(public_exponent=65537, key_size=4096),
                     vcek=ec.generate_private_key(ec.SECP384R1()))


def _ca(cn: str, issuer_cn: str, key: rsa.RSAPrivateKey, issuer_key: rsa.RSAPrivateKey, serial: int,
        product: Product, start: datetime) -> x509.Certificate:
    crl = x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(_KDS_CRL.format(product=product.value))],
        relative_name=None, reasons=None, crl_issuer=None)])
    builder = (x509.CertificateBuilder().subject_name(sandbox_name(cn)).issuer_name(sandbox_name(issuer_cn))
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(start).not_valid_after(start + timedelta(days=25 * 365))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(crl, critical=False))
    return builder.sign(issuer_key, hashes.SHA384(), rsa_padding=CA_PSS)


def _vek_extensions(tcb: TcbVersion, product_name: str, hw_id: bytes) -> list[tuple[str, bytes]]:
    """structVersion, productName, the SPLs (reserved ones 0) and the raw 64-byte hwID, as KDS does."""
    return [("1", encode_integer(0)), ("2", encode_tlv(TAG_IA5STRING, product_name.encode("ascii"))),
            ("3.1", encode_integer(tcb.bootloader)), ("3.2", encode_integer(tcb.tee)),
            ("3.4", encode_integer(0)), ("3.5", encode_integer(0)), ("3.6", encode_integer(0)),
            ("3.7", encode_integer(0)), ("3.3", encode_integer(tcb.snp)),
            ("3.8", encode_integer(tcb.microcode)), ("4", hw_id)]


def _vcek(keys: ChainKeys, ask: x509.Certificate, product: Product, tcb: TcbVersion, chip_id: bytes,
          start: datetime) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(sandbox_name("SEV-VCEK")).issuer_name(ask.subject)
               .public_key(keys.vcek.public_key()).serial_number(1)
               .not_valid_before(start).not_valid_after(start + timedelta(days=7 * 365)))
    name = product.value + ("-B0" if product is Product.MILAN else "")
    for suffix, value in _vek_extensions(tcb, name, chip_id):
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(AMD_ARC + suffix), value), critical=False)
    return _reissue_with_serial_zero(builder.sign(keys.ask, hashes.SHA384(), rsa_padding=CA_PSS), keys.ask)


def _reissue_with_serial_zero(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """AMD issues every VCEK with serial 0, which the builder refuses: swap the serial, sign again."""
    der = cert.public_bytes(serialization.Encoding.DER)
    _, body, _ = read_tlv(der)
    _, tbs_body, tbs_end = read_tlv(body)
    _, _, alg_end = read_tlv(body, tbs_end)
    algorithm = body[tbs_end:alg_end]
    _, _, version_end = read_tlv(tbs_body)          # [0] EXPLICIT version
    tag, _, serial_end = read_tlv(tbs_body, version_end)
    if tag != TAG_INTEGER:  # pragma: no cover - the builder always writes version then serial
        raise ValueError("unexpected TBSCertificate layout")
    tbs = encode_tlv(TAG_SEQUENCE, tbs_body[:version_end] + encode_integer(0) + tbs_body[serial_end:])
    signature = issuer_key.sign(tbs, CA_PSS, hashes.SHA384())
    return load_certificate(encode_tlv(TAG_SEQUENCE, tbs + algorithm + encode_tlv(_BIT_STRING, b"\0" + signature)))


def build_chain(keys: ChainKeys, *, product: Product, tcb: TcbVersion, chip_id: bytes,
                now: datetime | None = None) -> SandboxChain:
    """Issue the three certificates; validity starts a day back so clock skew does not bite."""
    start = (now or datetime.now(timezone.utc)) - timedelta(days=1)
    p = product.value
    ark = _ca(f"ARK-{p}", f"ARK-{p}", keys.ark, keys.ark, 0x10000, product, start)
    ask = _ca(f"SEV-{p}", f"ARK-{p}", keys.ask, keys.ark, 0x10001, product, start)
    return SandboxChain(ark=ark, ask=ask, vcek=_vcek(keys, ask, product, tcb, chip_id, start))
