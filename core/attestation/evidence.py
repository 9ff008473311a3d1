"""One entry point for any evidence file: recognise it, parse it once, describe every field.

``load_evidence`` accepts a raw SNP report (1184 bytes), an extended report (a report followed by
the host's certificate table, §2.7), an Azure HCL report wrapping one, a raw TDX quote, or a Cocos
EAT (CBOR COSE_Sign1 or JWT, ATTESTATION.md §1.1-§1.3) whose ``raw_report`` is routed to the
right parser. The result is an immutable ``Evidence``; verification and policy live in
``core.attestation.assess``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import struct
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509

from core.attestation.cert_bundle import is_cert_table, table_certificates
from core.attestation.evidence_fields import Row, eat_rows, grouped, quote_rows, report_rows
from core.attestation.snp.certs import classify, common_name, load_certificates
from core.attestation.snp.certtable import CertTableError
from core.attestation.snp.fields import REPORT_SIZE
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.tdx.quote import TdxQuote, parse_quote
from core.errors import EvidenceError


PLATFORMS = ("auto", "snp", "tdx")
MAX_EVIDENCE_SIZE = 4 << 20    # real evidence is a few KB; refuse to chew on anything huge

HCL_MAGIC = b"HCLA"
HCL_REPORT_OFFSET = 0x20        # the SNP report follows the 32-byte HCL header (§2.7 cloud specifics)
_HCL_RUNTIME_HEADER = struct.Struct("<5I")  # data size, version, report type, hash type, JSON size


class UnknownEvidenceError(EvidenceError):
    """The bytes are none of the evidence formats this app reads."""

    code = "unknown-evidence"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Parsed evidence. ``raw`` is the hardware evidence itself (report or quote bytes)."""

    platform: str                                  # "snp" | "tdx"
    source: str                                    # snp-report | snp-extended | azure-hcl | tdx-quote
                                                   # | eat-cose | eat-cbor | eat-jwt
    raw: bytes
    parsed: AttestationReport | TdxQuote
    original: bytes                                # the file as given
    eat: Any | None = None                         # the decoded EAT when the evidence came in one
    eat_platform_type: str = ""                    # "SNP", "SNP-vTPM", "TDX" (EAT only)
    certs: tuple[x509.Certificate, ...] = ()       # certificates carried with the evidence
    runtime_data: bytes | None = None              # Azure HCL runtime data (JSON)

    @property
    def report(self) -> AttestationReport:
        if not isinstance(self.parsed, AttestationReport):
            raise EvidenceError("this evidence is a TDX quote, not an SNP report")
        return self.parsed

    @property
    def quote(self) -> TdxQuote:
        if not isinstance(self.parsed, TdxQuote):
            raise EvidenceError("this evidence is an SNP report, not a TDX quote")
        return self.parsed


# --- detection ---------------------------------------------------------------------------

def _looks_like_tdx(data: bytes) -> bool:
    if len(data) < 8:
        return False
    version, key_type = struct.unpack_from("<HH", data, 0)
    return version in (4, 5) and key_type == 2  # the parser names a wrong TEE type precisely


def _looks_like_snp(data: bytes) -> bool:
    # a report starts with its version (2-5 today) as a little-endian u32; near-miss sizes and
    # versions still go to the SNP parser so the user gets its precise complaint
    if len(data) < 8 or len(data) > 2 * REPORT_SIZE:
        return False
    version = struct.unpack_from("<I", data, 0)[0]
    return 0 < version < 16


def _looks_like_extended_snp(data: bytes) -> bool:
    # a report followed by the host's certificate table (go-sev-guest, configfs-tsm auxblob)
    return len(data) >= REPORT_SIZE and _looks_like_snp(data[:REPORT_SIZE]) and is_cert_table(data[REPORT_SIZE:])


def _starts_like_cbor_eat(data: bytes) -> bool:
    first = data[0] if data else -1
    return first == 0xD2 or first == 0x84 or 0xA0 <= first <= 0xBF  # tag 18, COSE array, CBOR map


def _is_one_cbor_item(data: bytes) -> bool:
    """Whether ``data`` is exactly one well-formed CBOR item (cbor2 is loaded only here)."""
    import cbor2

    stream = io.BytesIO(data)
    try:
        cbor2.CBORDecoder(stream).decode()
    except Exception:  # noqa: BLE001 - any decoder failure (incl. too deep) means "not CBOR"
        return False
    return stream.tell() == len(data)


def _looks_like_jwt(data: bytes) -> bool:
    return b"\x00" not in data[:10] and data.lstrip()[:2] == b"ey" and b"." in data[:4096]


def _looks_like_eat(data: bytes) -> bool:
    # random bytes often start like CBOR; only a well-formed CBOR item is worth the EAT decoder's
    # complaints, anything else gets the generic "cannot tell" message
    return (_starts_like_cbor_eat(data) and _is_one_cbor_item(data)) or _looks_like_jwt(data)


def load_evidence(data: bytes, *, platform: str = "auto") -> Evidence:
    """Recognise and parse ``data``; raise an ``EvidenceError`` subclass when it cannot be read."""
    if platform not in PLATFORMS:
        raise EvidenceError(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}")
    data = bytes(data)
    if not data:
        raise UnknownEvidenceError("the evidence file is empty")
    if len(data) > MAX_EVIDENCE_SIZE:
        raise UnknownEvidenceError(
            f"the evidence file has {len(data)} bytes, far more than any report, quote or EAT "
            f"(limit {MAX_EVIDENCE_SIZE}); check that you picked the right file")
    try:
        evidence = _detect(data, "auto")
    except EvidenceError:
        if platform == "auto":
            raise
        evidence = _detect(data, platform)  # the forced parser gives its own precise complaint
    if platform != "auto" and evidence.platform != platform:
        raise EvidenceError(
            f"you asked for {platform.upper()} evidence, but this file holds "
            f"{evidence.platform.upper()} evidence ({evidence.source}); drop --platform or pick the right file")
    return evidence


def _detect(data: bytes, platform: str) -> Evidence:
    if data.startswith(HCL_MAGIC):
        return _from_hcl(data)
    if platform != "snp" and _looks_like_tdx(data):
        return Evidence("tdx", "tdx-quote", _raw_quote(data), parse_quote(data), data)
    if platform != "tdx" and _looks_like_extended_snp(data):
        return _from_extended(data)
    if platform != "tdx" and _looks_like_snp(data):
        return _snp_report(data)
    if _looks_like_eat(data):
        return _from_eat(data)
    decoded = _text_decoded(data)
    if decoded is not None:
        inner = _detect(decoded, platform)
        return replace(inner, original=data)
    if platform == "snp":
        return _snp_report(data)
    if platform == "tdx":
        return Evidence("tdx", "tdx-quote", _raw_quote(data), parse_quote(data), data)
    cbor = " (it starts like CBOR but is not one well-formed CBOR item)" if _starts_like_cbor_eat(data) else ""
    raise UnknownEvidenceError(
        f"cannot tell what this evidence is ({len(data)} bytes starting {data[:8].hex()}): it is not "
        f"an SNP report ({REPORT_SIZE} bytes), an Azure HCL report, a TDX quote or a Cocos EAT{cbor}")


def _snp_report(data: bytes) -> Evidence:
    report = parse_report(data)
    return Evidence("snp", "snp-report", report.raw, report, data)


def _from_extended(data: bytes) -> Evidence:
    """A report followed by its certificate table: the certificates travel with the evidence."""
    report = parse_report(data[:REPORT_SIZE])
    try:
        certs = table_certificates(data[REPORT_SIZE:], source="the certificate table after the report")
    except CertTableError as exc:
        raise CertTableError(f"the report is followed by a damaged certificate table: {exc}; give the "
                             "report alone (its first 1184 bytes) and the certificates separately") from None
    return Evidence("snp", "snp-extended", report.raw, report, data, certs=tuple(certs))


def _text_decoded(data: bytes) -> bytes | None:
    """Reports and quotes are often shared as hex or base64 text; decode them once."""
    text = b"".join(data.split())
    if not text or not text.isascii():
        return None
    try:
        return bytes.fromhex(text.decode())
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _raw_quote(data: bytes) -> bytes:
    return parse_quote(data).raw


def _from_hcl(data: bytes) -> Evidence:
    end = HCL_REPORT_OFFSET + REPORT_SIZE
    if len(data) < end:
        raise EvidenceError(
            f"the Azure HCL report is truncated ({len(data)} bytes; the SNP report inside needs {end})")
    raw = data[HCL_REPORT_OFFSET:end]
    report = parse_report(raw)
    return Evidence("snp", "azure-hcl", raw, report, data, runtime_data=_hcl_runtime_data(data[end:]))


def _hcl_runtime_data(tail: bytes) -> bytes | None:
    if len(tail) < _HCL_RUNTIME_HEADER.size:
        return None
    json_size = _HCL_RUNTIME_HEADER.unpack_from(tail, 0)[4]
    body = tail[_HCL_RUNTIME_HEADER.size:_HCL_RUNTIME_HEADER.size + json_size]
    return body if len(body) == json_size else None


def hcl_binding_ok(evidence: Evidence) -> bool | None:
    """Azure binds its runtime data by REPORT_DATA[0:32] = SHA-256(runtime data); None if not Azure."""
    if evidence.runtime_data is None:
        return None
    return evidence.report.report_data[:32] == hashlib.sha256(evidence.runtime_data).digest()


# --- EAT routing (§1.3) ------------------------------------------------------------------

def _from_eat(data: bytes) -> Evidence:
    # imported here: the EAT decoder pulls in cbor2 and the protobuf wrappers only when needed
    from core.attestation.eat import decode_eat
    from core.attestation.eat_report import hardware_report

    eat = decode_eat(data)
    hw = hardware_report(eat.platform_type, eat.raw_report)
    source = f"eat-{eat.form}"
    if hw.tdx_quote is not None:
        return Evidence("tdx", source, hw.evidence, hw.tdx_quote, data, eat=eat,
                        eat_platform_type=eat.platform_type)
    assert hw.snp_report is not None
    return Evidence("snp", source, hw.evidence, hw.snp_report, data, eat=eat,
                    eat_platform_type=eat.platform_type, certs=_carried_certs(hw.snp_attestation))


def _carried_certs(attestation: Any) -> tuple[x509.Certificate, ...]:
    if attestation is None:
        return ()
    blobs = [b for b in (attestation.vcek_cert, attestation.vlek_cert, attestation.ask_cert,
                         attestation.ark_cert) if b]
    return tuple(c for blob in blobs for c in load_certificates(blob, source="a certificate in the EAT"))


def embedded_leaf(evidence: Evidence) -> x509.Certificate | None:
    """The VCEK or VLEK that came with the evidence (identified by name, never by field)."""
    from core.attestation.snp.certs import CertRole

    return next((c for c in evidence.certs if classify(c)[0] in (CertRole.VCEK, CertRole.VLEK)), None)


def embedded_cas(evidence: Evidence) -> list[x509.Certificate]:
    from core.attestation.snp.certs import CertRole

    return [c for c in evidence.certs if classify(c)[0] not in (CertRole.VCEK, CertRole.VLEK)]


def describe(evidence: Evidence) -> list[Row]:
    """Every decoded field as (group, name, value), each group contiguous, in the order evidence,
    identity, measurements, tcb, policy, platform, signature, certificates, eat."""
    rows: list[Row] = [
        ("evidence", "platform", evidence.platform.upper()),
        ("evidence", "format", evidence.source),
        ("evidence", "size", f"{len(evidence.raw)} bytes"),
        ("evidence", "sha256", hashlib.sha256(evidence.raw).hexdigest()),
    ]
    if isinstance(evidence.parsed, AttestationReport):
        rows += report_rows(evidence.parsed)
    else:
        rows += quote_rows(evidence.parsed)
    if evidence.runtime_data is not None:
        rows.append(("platform", "azure_runtime_data_sha256", hashlib.sha256(evidence.runtime_data).hexdigest()))
        rows.append(("platform", "azure_runtime_data_bound", "yes" if hcl_binding_ok(evidence) else "NO"))
    for cert in evidence.certs:
        role, product = classify(cert)
        label = role.value if role else "certificate"
        named = f"{common_name(cert)} ({product.value})" if product else common_name(cert)
        rows.append(("certificates", label, f"{named}, "
                     f"valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"))
    if evidence.eat is not None:
        rows += eat_rows(evidence.eat, evidence.eat_platform_type)
    return grouped(rows)
