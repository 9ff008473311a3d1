"""One entry point for any evidence file: recognise it, parse it once, describe every field.

``load_evidence`` accepts a raw SNP report (1184 bytes), an Azure HCL report wrapping one, a raw
TDX quote, or a Cocos EAT (CBOR COSE_Sign1 or JWT, ATTESTATION.md §1.1-§1.3) whose ``raw_report``
is routed to the right parser. The result is an immutable ``Evidence``; verification and policy
live in ``core.attestation.assess``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509

from core.attestation.snp.certs import classify, common_name, load_certificates
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
    source: str                                    # snp-report | azure-hcl | tdx-quote | eat-cbor | eat-jwt
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


def _looks_like_eat(data: bytes) -> bool:
    if not data:
        return False
    first = data[0]
    if first == 0xD2 or first == 0x84 or 0xA0 <= first <= 0xBF:  # tag 18, COSE array, CBOR map
        return True
    head = data[:10]
    return b"\x00" not in head and data.lstrip()[:2] == b"ey" and b"." in data[:4096]


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
    if platform != "tdx" and _looks_like_snp(data):
        return Evidence("snp", "snp-report", data, parse_report(data), data)
    if _looks_like_eat(data):
        return _from_eat(data)
    decoded = _text_decoded(data)
    if decoded is not None:
        inner = _detect(decoded, platform)
        return replace(inner, original=data)
    if platform == "snp":
        return Evidence("snp", "snp-report", data, parse_report(data), data)
    if platform == "tdx":
        return Evidence("tdx", "tdx-quote", _raw_quote(data), parse_quote(data), data)
    raise UnknownEvidenceError(
        f"cannot tell what this evidence is ({len(data)} bytes starting {data[:8].hex()}): it is not "
        f"an SNP report ({REPORT_SIZE} bytes), an Azure HCL report, a TDX quote or a Cocos EAT")


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


def describe(evidence: Evidence) -> list[tuple[str, str, str]]:
    """Every decoded field as (group, name, value): groups evidence, identity, measurements,
    tcb, policy, platform, signature, certificates, eat."""
    rows: list[tuple[str, str, str]] = [
        ("evidence", "platform", evidence.platform.upper()),
        ("evidence", "format", evidence.source),
        ("evidence", "size", f"{len(evidence.raw)} bytes"),
        ("evidence", "sha256", hashlib.sha256(evidence.raw).hexdigest()),
    ]
    if isinstance(evidence.parsed, AttestationReport):
        rows += _describe_report(evidence.parsed)
    else:
        rows += _describe_quote(evidence.parsed)
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
        rows += _describe_eat(evidence.eat, evidence.eat_platform_type)
    return rows



# --- field tables for describe() ------------------------------------------------------------

def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _describe_report(r: AttestationReport) -> list[tuple[str, str, str]]:
    p, pi, si = r.policy, r.platform_info, r.signer_info
    rows = [
        ("identity", "version", str(r.version)),
        ("identity", "product", f"{r.product.value} (from {r.product_source})" if r.product else "not named"),
        ("identity", "guest_svn", str(r.guest_svn)),
        ("identity", "vmpl", str(r.vmpl)),
        ("identity", "family_id", r.family_id.hex()),
        ("identity", "image_id", r.image_id.hex()),
        ("identity", "report_id", r.report_id.hex()),
        ("identity", "report_id_ma", r.report_id_ma.hex()),
        ("identity", "chip_id", "masked (all zero)" if r.chip_id_masked else r.chip_id.hex()),
        ("measurements", "measurement", r.measurement.hex()),
        ("measurements", "host_data", r.host_data.hex()),
        ("measurements", "report_data", r.report_data.hex()),
        ("measurements", "id_key_digest", r.id_key_digest.hex()),
        ("measurements", "author_key_digest", r.author_key_digest.hex()),
    ]
    for name in ("current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"):
        tcb = getattr(r, name)
        rows.append(("tcb", name, f"{tcb} (raw 0x{tcb.raw:016x})"))
    rows += [
        ("tcb", "current_firmware", f"{r.current_major}.{r.current_minor} build {r.current_build}"),
        ("tcb", "committed_firmware", f"{r.committed_major}.{r.committed_minor} build {r.committed_build}"),
    ]
    if r.launch_mit_vector is not None:
        rows.append(("tcb", "launch_mit_vector", f"0x{r.launch_mit_vector:x}"))
        rows.append(("tcb", "current_mit_vector", f"0x{r.current_mit_vector or 0:x}"))
    rows += [
        ("policy", "policy", f"0x{p.raw:x}"),
        ("policy", "abi_minimum", f"{p.abi_major}.{p.abi_minor}"),
        ("policy", "debug_allowed", _yn(p.debug_allowed)),
        ("policy", "smt_allowed", _yn(p.smt_allowed)),
        ("policy", "migrate_ma_allowed", _yn(p.migrate_ma_allowed)),
        ("policy", "single_socket_required", _yn(p.single_socket_required)),
        ("policy", "cxl_allowed", _yn(p.cxl_allowed)),
        ("policy", "mem_aes_256_xts_required", _yn(p.mem_aes_256_xts_required)),
        ("policy", "rapl_disabled_required", _yn(p.rapl_disabled_required)),
        ("policy", "ciphertext_hiding_required", _yn(p.ciphertext_hiding_required)),
        ("policy", "page_swap_disabled", _yn(p.page_swap_disabled)),
        ("platform", "platform_info", f"0x{pi.raw:x}"),
        ("platform", "smt_enabled", _yn(pi.smt_enabled)),
        ("platform", "tsme_enabled", _yn(pi.tsme_enabled)),
        ("platform", "ecc_enabled", _yn(pi.ecc_enabled)),
        ("platform", "rapl_disabled", _yn(pi.rapl_disabled)),
        ("platform", "ciphertext_hiding_enabled", _yn(pi.ciphertext_hiding_enabled)),
        ("platform", "alias_check_complete", _yn(pi.alias_check_complete)),
        ("platform", "tio_enabled", _yn(pi.tio_enabled)),
    ]
    if r.cpuid_fam_id is not None:
        rows.append(("platform", "cpuid", f"family 0x{r.cpuid_fam_id:02x} model 0x{r.cpuid_mod_id:02x} "
                                          f"stepping 0x{r.cpuid_step:02x}"))
    rows += [
        ("signature", "signature_algo", f"{r.signature_algo} (ECDSA P-384 with SHA-384)"),
        ("signature", "signing_key", si.signing_key.name),
        ("signature", "author_key_en", _yn(si.author_key_en)),
        ("signature", "mask_chip_key", _yn(si.mask_chip_key)),
        ("signature", "signature_r", f"{r.signature_r:096x}"),
        ("signature", "signature_s", f"{r.signature_s:096x}"),
    ]
    return rows


def _describe_quote(q: TdxQuote) -> list[tuple[str, str, str]]:
    h, b, auth = q.header, q.body, q.auth_data
    qe = auth.qe_certification.qe_report
    rows = [
        ("identity", "version", str(h.version)),
        ("identity", "body_type", str(q.body_type)),
        ("identity", "tee_type", f"0x{h.tee_type:x}"),
        ("identity", "qe_vendor_id", h.qe_vendor_id.hex()),
        ("identity", "user_data", h.user_data.hex()),
        ("identity", "mr_config_id", b.mr_config_id.hex()),
        ("identity", "mr_owner", b.mr_owner.hex()),
        ("identity", "mr_owner_config", b.mr_owner_config.hex()),
        ("measurements", "mr_td", b.mr_td.hex()),
        *[("measurements", f"rtmr{i}", v.hex()) for i, v in enumerate(b.rtmrs)],
        ("measurements", "mr_seam", b.mr_seam.hex()),
        ("measurements", "mr_signer_seam", b.mr_signer_seam.hex()),
        ("measurements", "report_data", b.report_data.hex()),
        ("tcb", "tee_tcb_svn", b.tee_tcb_svn.hex()),
        ("tcb", "qe_isv_svn", str(qe.isv_svn)),
        ("tcb", "qe_cpu_svn", qe.cpu_svn.hex()),
        ("tcb", "pce_svn", str(h.reserved_pce_svn)),
        ("policy", "td_attributes", f"{b.td_attributes.hex()} ({b.attributes.describe()})"),
        ("policy", "debug", _yn(b.attributes.debug)),
        ("policy", "sept_ve_disable", _yn(b.attributes.sept_ve_disable)),
        ("policy", "xfam", f"{b.xfam.hex()} ({b.xfam_bits.describe()})"),
        ("platform", "seam_attributes", b.seam_attributes.hex()),
    ]
    if b.tee_tcb_svn_2 is not None:
        rows.insert(14, ("tcb", "tee_tcb_svn_2", b.tee_tcb_svn_2.hex()))
    if b.mr_service_td is not None:
        rows.append(("measurements", "mr_service_td", b.mr_service_td.hex()))
    rows += _pck_rows(q)
    rows += [
        ("signature", "attestation_key_type", f"{h.attestation_key_type} (ECDSA P-256)"),
        ("signature", "signature", auth.signature.hex()),
        ("signature", "attestation_key", auth.attestation_key.hex()),
        ("signature", "certification_data_type", str(auth.certification_data_type)),
        ("signature", "qe_mr_enclave", qe.mr_enclave.hex()),
        ("signature", "qe_mr_signer", qe.mr_signer.hex()),
    ]
    return rows


def _pck_rows(q: TdxQuote) -> list[tuple[str, str, str]]:
    from core.attestation.tdx.pck import load_pem_chain, pck_extensions

    try:
        ext = pck_extensions(load_pem_chain(q.auth_data.qe_certification.pck_chain_pem)[0])
    except EvidenceError as exc:
        return [("platform", "pck_certificate", f"unreadable: {exc}")]
    return [
        ("platform", "fmspc", ext.fmspc.hex()),
        ("platform", "pce_id", ext.pce_id.hex()),
        ("platform", "pck_cpu_svn", ext.tcb.cpu_svn.hex()),
        ("platform", "pck_pce_svn", str(ext.tcb.pce_svn)),
    ]


def _describe_eat(eat: Any, platform_type: str) -> list[tuple[str, str, str]]:
    rows = [("eat", "platform_type", platform_type), ("eat", "form", eat.form),
            ("eat", "algorithm", eat.algorithm or "none")]
    for name in ("issuer", "iat", "exp", "nonce", "ueid", "oemid", "hwmodel", "dbgstat", "intuse",
                 "measurements"):
        value = getattr(eat.claims, name, None)
        if value is None or value == b"":
            continue
        if name == "hwmodel" and isinstance(value, bytes) and value.isascii():
            value = value.decode()  # "SEV-SNP-3" / "Intel-TDX"
        rows.append(("eat", name, value.hex() if isinstance(value, bytes) else str(value)))
    rows.append(("eat", "signature", "not verified: Cocos signs EATs with an unpublished ephemeral key"))
    return rows
