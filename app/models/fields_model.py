"""Tree model of an Evidence's decoded fields, grouped as ``describe()`` gives them.

Each field row carries, in ``SpanRole``, the byte range ``(start, end)`` it occupies in the
evidence's raw bytes (from the SNP FIELDS table or the TDX quote's ``field_spans``), so the hex
view can highlight it. Derived rows (a hash of the whole report, a decoded product) have none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

if TYPE_CHECKING:
    from core.attestation.evidence import Evidence

SpanRole = Qt.ItemDataRole.UserRole + 1
COL_NAME, COL_VALUE = range(2)

GROUP_TITLES = {"evidence": "Evidence", "identity": "Identity", "measurements": "Measurements",
                "tcb": "TCB", "policy": "Guest policy", "platform": "Platform",
                "signature": "Signature", "certificates": "Certificates carried with the evidence",
                "eat": "EAT wrapper"}

# describe() names of SNP values decoded from a field with another name (bits of a word, etc.)
_SNP_ALIASES = {
    "abi_minimum": ("policy",), "debug_allowed": ("policy",), "smt_allowed": ("policy",),
    "migrate_ma_allowed": ("policy",), "single_socket_required": ("policy",),
    "cxl_allowed": ("policy",), "mem_aes_256_xts_required": ("policy",),
    "rapl_disabled_required": ("policy",), "ciphertext_hiding_required": ("policy",),
    "page_swap_disabled": ("policy",), "smt_enabled": ("platform_info",),
    "tsme_enabled": ("platform_info",), "ecc_enabled": ("platform_info",),
    "rapl_disabled": ("platform_info",), "ciphertext_hiding_enabled": ("platform_info",),
    "alias_check_complete": ("platform_info",), "tio_enabled": ("platform_info",),
    "signing_key": ("signer_info",), "author_key_en": ("signer_info",),
    "mask_chip_key": ("signer_info",),
    "cpuid": ("cpuid_fam_id", "cpuid_step"),
    "current_firmware": ("current_build", "current_major"),
    "committed_firmware": ("committed_build", "committed_major"),
}
# describe() names of TDX values that live in a differently named quote field
_TDX_ALIASES = {"debug": "td_attributes", "sept_ve_disable": "td_attributes",
                "qe_isv_svn": "qe_report.isv_svn", "qe_cpu_svn": "qe_report.cpu_svn",
                "pce_svn": "header.reserved_pce_svn", "qe_mr_enclave": "qe_report.mr_enclave",
                "qe_mr_signer": "qe_report.mr_signer", "body_type": "descriptor.body_type"}


def snp_span(name: str) -> tuple[int, int] | None:
    from core.attestation.snp.fields import FIELD_BY_NAME

    names = _SNP_ALIASES.get(name, (name,))
    first, last = names[0], names[-1]
    if first not in FIELD_BY_NAME or last not in FIELD_BY_NAME:
        return None
    return FIELD_BY_NAME[first].offset, FIELD_BY_NAME[last].end


def tdx_span(spans: list[tuple[str, int, int]], name: str) -> tuple[int, int] | None:
    wanted = _TDX_ALIASES.get(name, name)
    for dotted, start, end in spans:
        if dotted == wanted or dotted.endswith("." + wanted):
            return start, end
    return None


def field_spans(evidence: Evidence) -> dict[tuple[str, str], tuple[int, int]]:
    """(group, name) -> byte range in ``evidence.raw`` for every described field that has one."""
    from core.attestation.evidence import describe

    out: dict[tuple[str, str], tuple[int, int]] = {}
    quote_spans: list[tuple[str, int, int]] = []
    if evidence.platform == "tdx":
        from core.attestation.tdx.layout import field_spans as quote_field_spans

        quote_spans = quote_field_spans(evidence.quote)
    for group, name, _value in describe(evidence):
        if group in ("evidence", "certificates", "eat"):
            continue  # derived from the whole file or carried beside it, not a span of the report
        span = snp_span(name) if evidence.platform == "snp" else tdx_span(quote_spans, name)
        if span is not None:
            out[(group, name)] = span
    return out


class FieldsModel(QStandardItemModel):
    """Two columns (field, value); top-level rows are the groups."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Field", "Value"])

    def set_fields(self, rows: list[tuple[str, str, str]],
                   spans: dict[tuple[str, str], tuple[int, int]]) -> None:
        self.removeRows(0, self.rowCount())
        groups: dict[str, QStandardItem] = {}
        bold = QFont()
        bold.setBold(True)
        for group, name, value in rows:
            parent = groups.get(group)
            if parent is None:
                parent = QStandardItem(GROUP_TITLES.get(group, group.capitalize()))
                parent.setFont(bold)
                parent.setEditable(False)
                filler = QStandardItem("")
                filler.setEditable(False)
                self.appendRow([parent, filler])
                groups[group] = parent
            name_item, value_item = QStandardItem(name), QStandardItem(value)
            for item in (name_item, value_item):
                item.setEditable(False)
                item.setData(spans.get((group, name)), SpanRole)
            value_item.setToolTip(value)
            parent.appendRow([name_item, value_item])

    def find(self, name: str) -> Any:
        """The index of the first field called ``name`` (an invalid index when there is none)."""
        matches = self.match(self.index(0, 0), Qt.ItemDataRole.DisplayRole, name, 1,
                             Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)
        return matches[0] if matches else self.index(-1, -1)
