"""Synthetic SNP evidence for machines without the shared corpus.

Builds an ARK -> ASK/ASVK -> VCEK/VLEK chain with AMD's profile (RSA-4096 CAs signing with
RSASSA-PSS SHA-384 salt 48, AMD names, CRL distribution points, P-384 leaves with serial 0 and the
AMD extension arc incl. SPLs and hwID) and reports signed like the AMD security processor does
(ECDSA P-384/SHA-384, R and S little-endian). RSA keys are generated once per test session.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from core.attestation.snp.certs import load_certificate
from core.attestation.snp.der import TAG_IA5STRING, TAG_INTEGER, encode_integer, encode_tlv, read_tlv
from core.attestation.snp.fields import FIELD_BY_NAME, REPORT_SIZE, SIGNED_END
from core.attestation.snp.tcb import Product, TcbVersion

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
ARC = "1.3.6.1.4.1.3704.1."
CPUID = {Product.MILAN: (0x19, 0x01, 0x01), Product.GENOA: (0x19, 0x11, 0x01), Product.TURIN: (0x1A, 0x02, 0x01)}
CHIP_ID = bytes(range(1, 65))
TURIN_CHIP_ID = bytes(range(1, 9)) + bytes(56)


@lru_cache(maxsize=None)
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)


@lru_cache(maxsize=None)
def ec_key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def amd_name(cn: str) -> x509.Name:
    oid = x509.NameOID
    return x509.Name([
        x509.NameAttribute(oid.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(oid.COUNTRY_NAME, "US"),
        x509.NameAttribute(oid.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(oid.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(oid.ORGANIZATION_NAME, "Advanced Micro Devices"),
        x509.NameAttribute(oid.COMMON_NAME, cn),
    ])


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None)])


def _ca_cert(cn: str, key: rsa.RSAPrivateKey, issuer_cn: str, issuer_key: rsa.RSAPrivateKey,
             serial: int, crl_url: str) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(amd_name(cn)).issuer_name(amd_name(issuer_cn))
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(EPOCH - timedelta(days=365)).not_valid_after(EPOCH + timedelta(days=25 * 365))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(_crl_dp(crl_url), critical=False))
    return builder.sign(issuer_key, hashes.SHA384(), rsa_padding=PSS)


@dataclass(frozen=True)
class SynthChain:
    product: Product
    ark: x509.Certificate
    ask: x509.Certificate
    asvk: x509.Certificate
    ark_key: rsa.RSAPrivateKey
    ask_key: rsa.RSAPrivateKey
    asvk_key: rsa.RSAPrivateKey

    @property
    def vcek_chain(self) -> list[x509.Certificate]:
        return [self.ask, self.ark]

    @property
    def vlek_chain(self) -> list[x509.Certificate]:
        return [self.asvk, self.ark]


@lru_cache(maxsize=None)
def synth_chain(product: Product = Product.MILAN, label: str = "test") -> SynthChain:
    p = product.value
    ark_key, ask_key, asvk_key = rsa_key(f"{label}-ark"), rsa_key(f"{label}-ask"), rsa_key(f"{label}-asvk")
    ark = _ca_cert(f"ARK-{p}", ark_key, f"ARK-{p}", ark_key, 65536, f"https://kdsintf.amd.com/vcek/v1/{p}/crl")
    ask = _ca_cert(f"SEV-{p}", ask_key, f"ARK-{p}", ark_key, 65537, f"https://kdsintf.amd.com/vcek/v1/{p}/crl")
    asvk = _ca_cert(f"SEV-VLEK-{p}", asvk_key, f"ARK-{p}", ark_key, 65793,
                    f"https://kdsintf.amd.com/vlek/v1/{p}/crl")
    return SynthChain(product, ark, ask, asvk, ark_key, ask_key, asvk_key)


def vek_extensions(tcb: TcbVersion, *, product_name: str, hw_id: bytes | None = None,
                   csp_id: str | None = None, hw_id_octet_string: bool = False) -> list[tuple[str, bytes]]:
    """The AMD extension arc as (OID suffix, raw extnValue) in KDS order."""
    turin = tcb.fmc is not None
    exts = [("1", encode_integer(1 if turin else 0)),
            ("2", encode_tlv(TAG_IA5STRING, product_name.encode())),
            ("3.1", encode_integer(tcb.bootloader)), ("3.2", encode_integer(tcb.tee))]
    if not turin:
        exts += [("3.4", encode_integer(0)), ("3.5", encode_integer(0)), ("3.6", encode_integer(0)),
                 ("3.7", encode_integer(0))]
    exts += [("3.3", encode_integer(tcb.snp)), ("3.8", encode_integer(tcb.microcode))]
    if turin:
        exts.append(("3.9", encode_integer(tcb.fmc)))
    if hw_id is not None:
        exts.append(("4", encode_tlv(0x04, hw_id) if hw_id_octet_string else hw_id))
    if csp_id is not None:
        exts.append(("5", encode_tlv(TAG_IA5STRING, csp_id.encode())))
    return exts


def synth_leaf(chain: SynthChain, tcb: TcbVersion, *, kind: str = "VCEK", hw_id: bytes | None = None,
               csp_id: str | None = None, key_label: str = "vcek", not_before: datetime = EPOCH,
               days: int = 7 * 365, product_name: str | None = None,
               extra: list[tuple[str, bytes]] | None = None) -> x509.Certificate:
    """A VCEK (or VLEK) with serial 0, issued by the chain's ASK (or ASVK)."""
    issuer_cn, issuer_key = ((chain.asvk.subject, chain.asvk_key) if kind == "VLEK"
                             else (chain.ask.subject, chain.ask_key))
    name = product_name or (chain.product.value + ("-B0" if chain.product is Product.MILAN else ""))
    builder = (x509.CertificateBuilder().subject_name(amd_name(f"SEV-{kind}")).issuer_name(issuer_cn)
               .public_key(ec_key(key_label).public_key()).serial_number(1)
               .not_valid_before(not_before).not_valid_after(not_before + timedelta(days=days)))
    exts = extra if extra is not None else vek_extensions(tcb, product_name=name, hw_id=hw_id, csp_id=csp_id)
    for suffix, value in exts:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(ARC + suffix), value), critical=False)
    return _with_serial_zero(builder.sign(issuer_key, hashes.SHA384(), rsa_padding=PSS), issuer_key)


def _with_serial_zero(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    # cryptography refuses to build serial 0, which AMD uses for every VCEK/VLEK: patch the TBS, re-sign.
    der = cert.public_bytes(serialization.Encoding.DER)
    _, outer, _ = read_tlv(der)
    _, _, tbs_end = read_tlv(outer)
    _, _, alg_end = read_tlv(outer, tbs_end)
    sig_alg = outer[tbs_end:alg_end]
    _, tbs_body, _ = read_tlv(cert.tbs_certificate_bytes)
    _, _, version_end = read_tlv(tbs_body)
    tag, _, serial_end = read_tlv(tbs_body, version_end)
    assert tag == TAG_INTEGER
    tbs = encode_tlv(0x30, tbs_body[:version_end] + encode_integer(0) + tbs_body[serial_end:])
    signature = issuer_key.sign(tbs, PSS, hashes.SHA384())
    return load_certificate(encode_tlv(0x30, tbs + sig_alg + encode_tlv(0x03, b"\x00" + signature)))


def _put(buf: bytearray, name: str, value: int | bytes) -> None:
    spec = FIELD_BY_NAME[name]
    raw = value if isinstance(value, bytes) else value.to_bytes(spec.size, "little")
    assert len(raw) == spec.size, name
    buf[spec.offset:spec.end] = raw


def build_report(*, product: Product = Product.MILAN, version: int = 3, reported_tcb: TcbVersion,
                 current_tcb: TcbVersion | None = None, chip_id: bytes = CHIP_ID, signing_key: int = 0,
                 policy: int = 0x30000, vmpl: int = 0, platform_info: int = 0x25,
                 measurement: bytes = b"\x11" * 48, report_data: bytes = b"\x22" * 64,
                 host_data: bytes = bytes(32), key_label: str = "vcek", mit_vector: int = 0x3) -> bytes:
    """A signed report; ``key_label`` names the EC key (the leaf built with the same label)."""
    buf = bytearray(REPORT_SIZE)
    _put(buf, "version", version)
    _put(buf, "guest_svn", 1)
    _put(buf, "policy", policy)
    _put(buf, "vmpl", vmpl)
    _put(buf, "signature_algo", 1)
    for name in ("current_tcb", "committed_tcb", "launch_tcb"):
        _put(buf, name, (current_tcb or reported_tcb).raw)
    _put(buf, "reported_tcb", reported_tcb.raw)
    _put(buf, "platform_info", platform_info)
    _put(buf, "signer_info", signing_key << 2)
    _put(buf, "report_data", report_data)
    _put(buf, "measurement", measurement)
    _put(buf, "host_data", host_data)
    _put(buf, "report_id", b"\x33" * 32)
    _put(buf, "report_id_ma", b"\xff" * 32)
    _put(buf, "chip_id", chip_id)
    if version >= 3:
        fam, mod, step = CPUID[product]
        _put(buf, "cpuid_fam_id", fam)
        _put(buf, "cpuid_mod_id", mod)
        _put(buf, "cpuid_step", step)
    for prefix in ("current", "committed"):
        _put(buf, f"{prefix}_build", 21)
        _put(buf, f"{prefix}_minor", 55)
        _put(buf, f"{prefix}_major", 1)
    if version >= 5:
        _put(buf, "launch_mit_vector", mit_vector)
        _put(buf, "current_mit_vector", mit_vector)
    return sign_report(bytes(buf), key_label)


def sign_report(raw: bytes, key_label: str = "vcek") -> bytes:
    der = ec_key(key_label).sign(raw[:SIGNED_END], ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    return raw[:SIGNED_END] + struct.pack("<72s72s", r.to_bytes(72, "little"), s.to_bytes(72, "little")) \
        + raw[0x330:]


def synth_crl(chain: SynthChain, *, revoked: tuple[int, ...] = (), last_update: datetime = EPOCH,
              next_update: datetime | None = None, signer: rsa.RSAPrivateKey | None = None
              ) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(chain.ark.subject)
               .last_update(last_update).next_update(next_update or last_update + timedelta(days=30)))
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last_update).build())
    return builder.sign(signer or chain.ark_key, hashes.SHA384(), rsa_padding=PSS)


MILAN_TCB = TcbVersion.from_components(bootloader=4, tee=0, snp=24, microcode=219)
TURIN_TCB = TcbVersion.from_components(fmc=1, bootloader=1, tee=1, snp=4, microcode=81)
AT = EPOCH + timedelta(days=30)
