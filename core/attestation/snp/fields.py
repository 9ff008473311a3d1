"""Where every field of an SNP ATTESTATION_REPORT lives (ATTESTATION.md §2.1).

One table, so the parser, the must-be-zero checks and a later hex view all read the same
offsets. Sizes are in bytes, offsets from the start of the 1184-byte report.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT_SIZE = 0x4A0          # 1184 bytes, whatever the version
SIGNED_END = 0x2A0           # the signature covers report[0x000:0x2A0]
SUPPORTED_VERSIONS = (2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    offset: int
    size: int
    description: str

    @property
    def end(self) -> int:
        return self.offset + self.size


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("version", 0x000, 4, "report format version (2-5)"),
    FieldSpec("guest_svn", 0x004, 4, "guest security version number"),
    FieldSpec("policy", 0x008, 8, "guest policy the VM was launched with"),
    FieldSpec("family_id", 0x010, 16, "family id from the ID block"),
    FieldSpec("image_id", 0x020, 16, "image id from the ID block"),
    FieldSpec("vmpl", 0x030, 4, "VM privilege level that requested the report"),
    FieldSpec("signature_algo", 0x034, 4, "signature algorithm (1 = ECDSA P-384 with SHA-384)"),
    FieldSpec("current_tcb", 0x038, 8, "TCB version the platform runs now"),
    FieldSpec("platform_info", 0x040, 8, "platform features (SMT, TSME, ...)"),
    FieldSpec("signer_info", 0x048, 4, "which key signed the report (VCEK, VLEK, none)"),
    FieldSpec("reserved_04c", 0x04C, 4, "reserved, must be zero"),
    FieldSpec("report_data", 0x050, 64, "data supplied by the guest (the binding)"),
    FieldSpec("measurement", 0x090, 48, "launch measurement of the VM"),
    FieldSpec("host_data", 0x0C0, 32, "data supplied by the host at launch"),
    FieldSpec("id_key_digest", 0x0E0, 48, "SHA-384 of the ID key that signed the ID block"),
    FieldSpec("author_key_digest", 0x110, 48, "SHA-384 of the author key"),
    FieldSpec("report_id", 0x140, 32, "report id of this guest"),
    FieldSpec("report_id_ma", 0x160, 32, "report id of the migration agent (all FF if none)"),
    FieldSpec("reported_tcb", 0x180, 8, "TCB the signing key (VCEK/VLEK) is derived for"),
    FieldSpec("cpuid_fam_id", 0x188, 1, "CPU family (v3+)"),
    FieldSpec("cpuid_mod_id", 0x189, 1, "CPU model (v3+)"),
    FieldSpec("cpuid_step", 0x18A, 1, "CPU stepping (v3+)"),
    FieldSpec("reserved_18b", 0x18B, 21, "reserved, must be zero"),
    FieldSpec("chip_id", 0x1A0, 64, "unique chip identifier (zero if masked)"),
    FieldSpec("committed_tcb", 0x1E0, 8, "committed TCB version"),
    FieldSpec("current_build", 0x1E8, 1, "firmware build number"),
    FieldSpec("current_minor", 0x1E9, 1, "firmware minor version"),
    FieldSpec("current_major", 0x1EA, 1, "firmware major version"),
    FieldSpec("reserved_1eb", 0x1EB, 1, "reserved, must be zero"),
    FieldSpec("committed_build", 0x1EC, 1, "committed firmware build"),
    FieldSpec("committed_minor", 0x1ED, 1, "committed firmware minor version"),
    FieldSpec("committed_major", 0x1EE, 1, "committed firmware major version"),
    FieldSpec("reserved_1ef", 0x1EF, 1, "reserved, must be zero"),
    FieldSpec("launch_tcb", 0x1F0, 8, "TCB version when the VM was launched"),
    FieldSpec("launch_mit_vector", 0x1F8, 8, "mitigations active at launch (v5)"),
    FieldSpec("current_mit_vector", 0x200, 8, "mitigations active now (v5)"),
    FieldSpec("reserved_208", 0x208, 152, "reserved, must be zero"),
    FieldSpec("signature_r", 0x2A0, 72, "signature R, little-endian"),
    FieldSpec("signature_s", 0x2E8, 72, "signature S, little-endian"),
    FieldSpec("reserved_330", 0x330, 368, "reserved part of the signature, must be zero"),
)

FIELD_BY_NAME: dict[str, FieldSpec] = {f.name: f for f in FIELDS}


def field_at(offset: int) -> FieldSpec | None:
    """The field that holds byte ``offset`` (for highlighting in a hex view)."""
    for spec in FIELDS:
        if spec.offset <= offset < spec.end:
            return spec
    return None


def mbz_ranges(version: int) -> tuple[tuple[int, int], ...]:
    """Byte ranges [start, end) that must be zero for this report version (§2.8 item 7)."""
    cpuid_reserved_start = 0x188 if version < 3 else 0x18B
    tail_reserved_start = 0x1F8 if version < 5 else 0x208
    return (
        (0x04C, 0x050),
        (cpuid_reserved_start, 0x1A0),
        (0x1EB, 0x1EC),
        (0x1EF, 0x1F0),
        (tail_reserved_start, SIGNED_END),
        (0x330, REPORT_SIZE),
    )
