"""Synthetic TDX evidence: a test root -> PCK CA -> PCK chain, a TCB signing certificate, signed
TCB Info / QE Identity JSON, CRLs and signed quotes (v4, v5 TD 1.0 and TD 1.5 bodies).

Everything is generated in-process so every TDX check runs on a fresh machine. The root is NOT
Intel's: verification must be given ``trust_for(pki)`` explicitly.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from core.attestation.tdx.collateral import TdxCollateral, parse_qe_identity, parse_tcb_info
from core.attestation.tdx.pck import SGX_EXTENSION_OID
from core.attestation.tdx.quote import INTEL_QE_VENDOR_ID
from core.attestation.tdx.roots import TdxTrust

EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)   # "now" for synthetic evidence
QE_MRSIGNER = bytes.fromhex("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")
QE_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
FMSPC = bytes.fromhex("b0c06f000000")
PCK_SVNS = (3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0)
PCE_SVN = 11

# --- DER for the SGX extension -----------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _int(value: int, tag: int = 0x02) -> bytes:
    return _tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _pair(sub: str, value: bytes) -> bytes:
    return _tlv(0x30, _oid(f"{SGX_EXTENSION_OID}.{sub}") + value)


def sgx_extension_der(*, fmspc: bytes = FMSPC, pce_id: bytes = b"\x00\x00",
                      svns: tuple[int, ...] = PCK_SVNS, pce_svn: int = PCE_SVN,
                      cpu_svn: bytes | None = None) -> bytes:
    tcb = b"".join(_pair(f"2.{i + 1}", _int(s)) for i, s in enumerate(svns))
    tcb += _pair("2.17", _int(pce_svn)) + _pair("2.18", _tlv(0x04, cpu_svn or bytes(svns)))
    config = b"".join(_pair(f"7.{i}", _tlv(0x01, b"\xff")) for i in (1, 2, 3))
    return _tlv(0x30, b"".join([
        _pair("1", _tlv(0x04, bytes(range(16)))),
        _pair("2", _tlv(0x30, tcb)),
        _pair("3", _tlv(0x04, pce_id)),
        _pair("4", _tlv(0x04, fmspc)),
        _pair("5", _int(1, 0x0A)),
        _pair("7", _tlv(0x30, config)),
    ]))


# --- certificates --------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Prism Test")])


def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
          *, ca: bool, serial: int, extension: bytes | None = None,
          not_before: datetime = EPOCH - timedelta(days=365),
          not_after: datetime = EPOCH + timedelta(days=3650)) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if extension is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX_EXTENSION_OID), extension), critical=False)
    return builder.sign(signer, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate
    pck_key: ec.EllipticCurvePrivateKey
    pck: x509.Certificate
    tcb_key: ec.EllipticCurvePrivateKey
    tcb_signer: x509.Certificate
    att_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))


def make_pki(*, extension: bytes | None = None, pck_not_after: datetime | None = None) -> Pki:
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
    root_key, ca_key, pck_key, tcb_key = keys
    root = _cert("Prism Test SGX Root CA", root_key, _name("Prism Test SGX Root CA"), root_key, ca=True, serial=1)
    ca = _cert("Intel SGX PCK Platform CA", ca_key, root.subject, root_key, ca=True, serial=2)
    pck = _cert("Intel SGX PCK Certificate", pck_key, ca.subject, ca_key, ca=False, serial=0x1234,
                extension=extension or sgx_extension_der(),
                not_after=pck_not_after or EPOCH + timedelta(days=3650))
    tcb = _cert("Intel SGX TCB Signing", tcb_key, root.subject, root_key, ca=False, serial=3)
    return Pki(root_key, root, ca_key, ca, pck_key, pck, tcb_key, tcb)


@lru_cache(maxsize=1)
def default_pki() -> Pki:
    return make_pki()


def trust_for(pki: Pki) -> TdxTrust:
    return TdxTrust.with_extra_root(pki.root, label="synthetic test root", explicitly_enabled=True)


def pem_chain(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs) + b"\x00"


# --- quotes ----------------------------------------------------------------------------------


def _rs(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _raw_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]


BODY_DEFAULTS = {
    "tee_tcb_svn": bytes([6, 1, 3]) + bytes(13), "mr_seam": b"\x5b" * 48, "mr_signer_seam": bytes(48),
    "seam_attributes": bytes(8), "td_attributes": (1 << 28).to_bytes(8, "little"),
    "xfam": bytes.fromhex("e702060000000000"), "mr_td": b"\x91" * 48, "mr_config_id": bytes(48),
    "mr_owner": bytes(48), "mr_owner_config": bytes(48), "rtmr0": b"\x01" * 48, "rtmr1": b"\x02" * 48,
    "rtmr2": b"\x03" * 48, "rtmr3": bytes(48), "report_data": b"\x42" * 64,
    "tee_tcb_svn_2": bytes(16), "mr_service_td": b"\x77" * 48,
}
_BODY_ORDER = list(BODY_DEFAULTS)


def make_body(body_type: int = 2, **fields: bytes) -> bytes:
    values = {**BODY_DEFAULTS, **fields}
    names = _BODY_ORDER if body_type == 3 else _BODY_ORDER[:-2]
    return b"".join(values[n] for n in names)


def make_qe_report(report_data: bytes, *, isv_svn: int = 4, mr_signer: bytes = QE_MRSIGNER) -> bytes:
    return (bytes(16) + struct.pack("<I", 0) + bytes(28) + QE_ATTRIBUTES + b"\xee" * 32 + bytes(32)
            + mr_signer + bytes(96) + struct.pack("<HH", 2, isv_svn) + bytes(60) + report_data)


def make_quote(pki: Pki | None = None, *, version: int = 4, body_type: int = 2, qe_isv_svn: int = 4,
               tee_type: int = 0x81, qe_auth: bytes = bytes(range(32)), chain: bytes | None = None,
               **body_fields: bytes) -> bytes:
    pki = pki or default_pki()
    header = struct.pack("<HHIHH", version, 2, tee_type, 0, 0) + INTEL_QE_VENDOR_ID + bytes(20)
    body = make_body(body_type, **body_fields)
    signed = header + (struct.pack("<HI", body_type, len(body)) if version == 5 else b"") + body
    att = _raw_key(pki.att_key)
    qe_report = make_qe_report(hashlib.sha256(att + qe_auth).digest() + bytes(32), isv_svn=qe_isv_svn)
    chain = chain if chain is not None else pem_chain(pki.pck, pki.ca, pki.root)
    qe_cert = (qe_report + _rs(pki.pck_key, qe_report) + struct.pack("<H", len(qe_auth)) + qe_auth
               + struct.pack("<HI", 5, len(chain)) + chain)
    sig_data = _rs(pki.att_key, signed) + att + struct.pack("<HI", 6, len(qe_cert)) + qe_cert
    return signed + struct.pack("<I", len(sig_data)) + sig_data


# --- collateral ------------------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def tcb_level(sgx: tuple[int, ...], pce: int, tdx: tuple[int, ...], status: str,
              advisories: tuple[str, ...] = (), date: str = "2024-03-13T00:00:00Z") -> dict:
    level = {"tcb": {"sgxtcbcomponents": [{"svn": s} for s in sgx], "pcesvn": pce,
                     "tdxtcbcomponents": [{"svn": s} for s in tdx]},
             "tcbDate": date, "tcbStatus": status}
    if advisories:
        level["advisoryIDs"] = list(advisories)
    return level


def default_levels() -> list[dict]:
    tdx = (0, 0, 3) + (0,) * 13
    return [
        tcb_level(PCK_SVNS, PCE_SVN, tdx, "UpToDate"),
        tcb_level((2, 2, 2, 2, 3, 1, 0, 3) + (0,) * 8, PCE_SVN, tdx, "OutOfDate",
                  ("INTEL-SA-00960", "INTEL-SA-00982"), "2023-08-09T00:00:00Z"),
    ]


def _signed_doc(key_name: str, body: dict, key: ec.EllipticCurvePrivateKey) -> bytes:
    # a served layout with spaces, to prove the signature is checked over the exact bytes
    text = json.dumps(body, separators=(", ", ": ")).encode()
    return b'{"%s": ' % key_name.encode() + text + b', "signature": "' + _rs(key, text).hex().encode() + b'"}'


def make_tcb_info(pki: Pki | None = None, *, levels: list[dict] | None = None, fmspc: bytes = FMSPC,
                  issue: datetime = EPOCH, days: int = 30, module_levels: list[dict] | None = None) -> bytes:
    pki = pki or default_pki()
    module = {"mrsigner": "00" * 48, "attributes": "00" * 8, "attributesMask": "FF" * 8}
    body = {"id": "TDX", "version": 3, "issueDate": _iso(issue), "nextUpdate": _iso(issue + timedelta(days=days)),
            "fmspc": fmspc.hex().upper(), "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 17,
            "tdxModule": module,
            "tdxModuleIdentities": [{"id": "TDX_01", **module, "tcbLevels": module_levels or [
                {"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"},
                {"tcb": {"isvsvn": 2}, "tcbDate": "2023-08-09T00:00:00Z", "tcbStatus": "OutOfDate"}]}],
            "tcbLevels": levels if levels is not None else default_levels()}
    return _signed_doc("tcbInfo", body, pki.tcb_key)


def make_qe_identity(pki: Pki | None = None, *, issue: datetime = EPOCH, days: int = 30,
                     levels: list[dict] | None = None) -> bytes:
    pki = pki or default_pki()
    body = {"id": "TD_QE", "version": 2, "issueDate": _iso(issue), "nextUpdate": _iso(issue + timedelta(days=days)),
            "tcbEvaluationDataNumber": 17, "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
            "attributes": QE_ATTRIBUTES.hex().upper(), "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
            "mrsigner": QE_MRSIGNER.hex().upper(), "isvprodid": 2,
            "tcbLevels": levels or [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"}]}
    return _signed_doc("enclaveIdentity", body, pki.tcb_key)


def make_crl(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, revoked: tuple[int, ...] = (),
             *, last: datetime = EPOCH - timedelta(days=1), days: int = 30) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(last).next_update(last + timedelta(days=days)))
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last).build())
    return builder.sign(key, hashes.SHA256())


def make_collateral(pki: Pki | None = None, *, tcb_info: bytes | None = None, qe_identity: bytes | None = None,
                    revoked_pck: tuple[int, ...] = (), revoked_ca: tuple[int, ...] = ()) -> TdxCollateral:
    pki = pki or default_pki()
    return TdxCollateral(
        tcb_info=parse_tcb_info(tcb_info or make_tcb_info(pki)),
        qe_identity=parse_qe_identity(qe_identity or make_qe_identity(pki)),
        tcb_info_issuer_chain=(pki.tcb_signer, pki.root),
        qe_identity_issuer_chain=(pki.tcb_signer, pki.root),
        pck_crl=make_crl(pki.ca, pki.ca_key, revoked_pck),
        pck_crl_issuer_chain=(pki.ca, pki.root),
        root_crl=make_crl(pki.root, pki.root_key, revoked_ca),
    )
