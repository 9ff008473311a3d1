"""The field tables behind ``evidence.describe``: every decoded field as (group, name, value).

Rows come out grouped in ``GROUP_ORDER`` (``grouped`` sorts stably), so a table printed group by
group shows each group heading once.
"""

from __future__ import annotations

from typing import Any

from core.attestation.snp.report import AttestationReport
from core.attestation.tdx.quote import TdxQuote
from core.errors import EvidenceError

Row = tuple[str, str, str]

GROUP_ORDER = ("evidence", "identity", "measurements", "tcb", "policy", "platform", "signature",
               "certificates", "eat")


def grouped(rows: list[Row]) -> list[Row]:
    """``rows`` with each group contiguous, groups in ``GROUP_ORDER`` (unknown ones last, in order
    of appearance) and rows kept in their order within a group."""
    first_seen: dict[str, int] = {}
    for group, _, _ in rows:
        first_seen.setdefault(group, len(first_seen))

    def rank(row: Row) -> tuple[int, int]:
        group = row[0]
        known = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
        return known, first_seen[group]

    return sorted(rows, key=rank)


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def report_rows(r: AttestationReport) -> list[Row]:
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


def quote_rows(q: TdxQuote) -> list[Row]:
    h, b, auth = q.header, q.body, q.auth_data
    qe = auth.qe_certification.qe_report
    svn_2 = [("tcb", "tee_tcb_svn_2", b.tee_tcb_svn_2.hex())] if b.tee_tcb_svn_2 is not None else []
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
        *svn_2,
        ("tcb", "qe_isv_svn", str(qe.isv_svn)),
        ("tcb", "qe_cpu_svn", qe.cpu_svn.hex()),
        ("tcb", "pce_svn", str(h.reserved_pce_svn)),
        ("policy", "td_attributes", f"{b.td_attributes.hex()} ({b.attributes.describe()})"),
        ("policy", "debug", _yn(b.attributes.debug)),
        ("policy", "sept_ve_disable", _yn(b.attributes.sept_ve_disable)),
        ("policy", "xfam", f"{b.xfam.hex()} ({b.xfam_bits.describe()})"),
        ("platform", "seam_attributes", b.seam_attributes.hex()),
    ]
    if b.mr_service_td is not None:
        rows.append(("measurements", "mr_service_td", b.mr_service_td.hex()))  # grouped() moves it up
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


def _pck_rows(q: TdxQuote) -> list[Row]:
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


def eat_rows(eat: Any, platform_type: str) -> list[Row]:
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
