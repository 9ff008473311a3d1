"""The measurement workbench on a minimal OVMF-like image carrying the SEV metadata and GUID table.

The expected digests are recomputed independently here: the page walk, PAGE_INFO layout and the
kernel-hashes table are written from the SNP ABI and QEMU's layout with hashlib; only the VMSA page
contents come from the library's lower-level ``VMSA`` primitive.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.verdict import Stage, Status, Verdict
from core.attestation.workbench import (
    ExpectedMeasurement, MeasurementInputError, MeasurementInputs, VmmType, compare, compute_measurement,
    ovmf_digest, policy_from_measurement, vcpu_types,
)
from core.errors import BadInput
from tests.unit.attestation.snp.synth import MILAN_TCB, build_report

FOOTER_GUID = "96b582de-1fb2-45f7-baea-a366c55a082d"
HASH_TABLE_RV_GUID = "7255371f-3a3b-4b04-927b-1da6efa8d454"
RESET_BLOCK_GUID = "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
METADATA_GUID = "dc886566-984a-4798-a75e-5585a7bf67cc"
SEC_MEM, SECRETS, CPUID, KERNEL_HASHES = 1, 2, 3, 0x10
SIZE = 16 * 4096
GPA = (1 << 32) - SIZE
SECTIONS = [(0x800000, 0x3000, SEC_MEM), (0x80D000, 0x1000, SECRETS), (0x80E000, 0x1000, CPUID),
            (0x80F000, 0x1000, KERNEL_HASHES)]
HASHES_GPA = 0x80FC00
RESET_EIP = 0xFFFFF000
MILAN_SIG = (0xA << 20) | (0x0 << 16) | (0xF << 8) | (0x1 << 4) | 0x1   # family 0x19, model 1, stepping 1


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


def fake_ovmf(*, kernel_hashes: bool = True) -> bytes:
    """SIZE bytes of filler, the 'ASEV' metadata at offset 0x1000, the GUID table before the last 32 bytes."""
    body = bytearray(hashlib.shake_256(b"ovmf").digest(SIZE))
    sections = [s for s in SECTIONS if kernel_hashes or s[2] != KERNEL_HASHES]
    meta = b"ASEV" + struct.pack("<III", 16 + 12 * len(sections), 1, len(sections))
    meta += b"".join(struct.pack("<III", *s) for s in sections)
    meta_offset = 0x1000
    body[meta_offset:meta_offset + len(meta)] = meta
    entries = [(METADATA_GUID, struct.pack("<I", SIZE - meta_offset)),
               (RESET_BLOCK_GUID, struct.pack("<I", RESET_EIP))]
    if kernel_hashes:
        entries.append((HASH_TABLE_RV_GUID, struct.pack("<II", HASHES_GPA, 0x400)))
    table = b"".join(data + struct.pack("<H", len(data) + 18) + _guid(g) for g, data in entries)
    tail = table + struct.pack("<H", len(table) + 18) + _guid(FOOTER_GUID) + b"\x90" * 32
    body[SIZE - len(tail):] = tail
    return bytes(body)


class Digest:
    """An independent launch-digest accumulator (SNP ABI: PAGE_INFO of 0x70 bytes)."""

    def __init__(self) -> None:
        self.ld = bytes(48)

    def page(self, page_type: int, gpa: int, contents: bytes) -> None:
        info = self.ld + contents + struct.pack("<HBBBBBBQ", 0x70, page_type, 0, 0, 0, 0, 0, gpa)
        assert len(info) == 0x70
        self.ld = hashlib.sha384(info).digest()


def hashes_page(kernel: bytes, initrd: bytes, cmdline: str) -> bytes:
    def entry(guid: str, data: bytes) -> bytes:
        return _guid(guid) + struct.pack("<H", 50) + hashlib.sha256(data).digest()
    body = (entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", cmdline.encode() + b"\x00")
            + entry("44baf731-3a2f-4bd7-9af1-41e29169781d", initrd)
            + entry("4de79437-abd2-427f-b835-d5b172d2045b", kernel))
    table = _guid("9438d606-4f22-4cc9-b479-a793d411fd21") + struct.pack("<H", 18 + len(body)) + body
    table += bytes(-len(table) % 16)
    offset = HASHES_GPA & 0xFFF
    return bytes(offset) + table + bytes(4096 - offset - len(table))


def independent(ovmf: bytes, *, vcpus: int, features: int, kernel: tuple[bytes, bytes, str] | None) -> bytes:
    from sevsnpmeasure.sev_mode import SevMode
    from sevsnpmeasure.vmm_types import VMMType
    from sevsnpmeasure.vmsa import VMSA

    d = Digest()
    for off in range(0, len(ovmf), 4096):
        d.page(1, GPA + off, hashlib.sha384(ovmf[off:off + 4096]).digest())
    for gpa, size, kind in SECTIONS:
        if kind == SEC_MEM:
            for off in range(0, size, 4096):
                d.page(3, gpa + off, bytes(48))
        elif kind == SECRETS:
            d.page(5, gpa, bytes(48))
        elif kind == CPUID:
            d.page(6, gpa, bytes(48))
        elif kernel is None:
            d.page(3, gpa, bytes(48))
        else:
            d.page(1, gpa, hashlib.sha384(hashes_page(*kernel)).digest())
    for page in VMSA(SevMode.SEV_SNP, RESET_EIP, MILAN_SIG, features, VMMType.QEMU).pages(vcpus):
        d.page(2, 0xFFFFFFFFF000, hashlib.sha384(page).digest())
    return d.ld


@pytest.fixture
def ovmf(tmp_path: Path) -> Path:
    path = tmp_path / "OVMF.fd"
    path.write_bytes(fake_ovmf())
    return path


@pytest.fixture
def boot_files(tmp_path: Path) -> tuple[Path, Path]:
    kernel, initrd = tmp_path / "vmlinuz", tmp_path / "initrd.img"
    kernel.write_bytes(b"kernel image" * 100)
    initrd.write_bytes(b"initrd" * 50)
    return kernel, initrd


def test_milan_signature_matches_the_library() -> None:
    from sevsnpmeasure.vcpu_types import CPU_SIGS
    assert CPU_SIGS["EPYC-Milan"] == MILAN_SIG
    assert "EPYC-Milan" in vcpu_types()


def test_digest_without_kernel_matches_independent_walk(ovmf: Path) -> None:
    result = compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=2, vcpu_type="EPYC-Milan"))
    assert len(result.digest) == 48
    assert result.digest == independent(ovmf.read_bytes(), vcpus=2, features=0x1, kernel=None)
    # pinned, so a change in the library's behaviour (e.g. the VMSA template) is noticed
    assert result.hex == ("1726d0ef78d7c31e183dcb50a5151067002f1b7fdc6faf8391a5a6b01d43418e"
                          "d9c7b1c705d463d4f4a2ae9d348a34a3")


def test_digest_with_kernel_matches_independent_walk(ovmf: Path, boot_files: tuple[Path, Path]) -> None:
    kernel, initrd = boot_files
    inputs = MeasurementInputs(ovmf=ovmf, vcpus=4, vcpu_type="EPYC-Milan", kernel=kernel, initrd=initrd,
                               append="console=ttyS0", guest_features=0x21)
    result = compute_measurement(inputs)
    want = independent(ovmf.read_bytes(), vcpus=4, features=0x21,
                       kernel=(kernel.read_bytes(), initrd.read_bytes(), "console=ttyS0"))
    assert result.digest == want
    assert "console=ttyS0" in inputs.describe() and "4 x EPYC-Milan" in inputs.describe()


def test_every_input_changes_the_digest(ovmf: Path, boot_files: tuple[Path, Path]) -> None:
    kernel, initrd = boot_files
    base = MeasurementInputs(ovmf=ovmf, vcpus=2, vcpu_type="EPYC-Milan", kernel=kernel, initrd=initrd, append="a")
    variants = [base, MeasurementInputs(**{**_fields(base), "vcpus": 3}),
                MeasurementInputs(**{**_fields(base), "vcpu_type": "EPYC-Genoa"}),
                MeasurementInputs(**{**_fields(base), "guest_features": 0x21}),
                MeasurementInputs(**{**_fields(base), "append": "b"}),
                MeasurementInputs(**{**_fields(base), "initrd": None}),
                MeasurementInputs(**{**_fields(base), "vmm": VmmType.GCE})]
    digests = {compute_measurement(v).digest for v in variants}
    assert len(digests) == len(variants)


def _fields(inputs: MeasurementInputs) -> dict[str, object]:
    return {name: getattr(inputs, name) for name in inputs.__slots__}  # type: ignore[attr-defined]


def test_precomputed_ovmf_digest_gives_the_same_result(ovmf: Path) -> None:
    seed = ovmf_digest(ovmf)
    direct = compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=1, vcpu_type="EPYC-Milan"))
    seeded = compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=1, vcpu_type="EPYC-Milan", ovmf_hash=seed))
    assert seeded.digest == direct.digest
    assert compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=1, vcpu_type="EPYC-Milan",
                                                 ovmf_hash=bytes(48))).digest != direct.digest


def test_compare_and_policy(ovmf: Path) -> None:
    expected = compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=2, vcpu_type="EPYC-Milan"))
    report = build_report(reported_tcb=MILAN_TCB, measurement=expected.digest)
    check = compare(report, expected)
    assert (check.id, check.status, check.stage) == ("workbench.measurement", Status.PASS, Stage.VALIDATE)
    other = compare(build_report(reported_tcb=MILAN_TCB, measurement=b"\x01" * 48), expected)
    assert other.status is Status.FAIL and other.expected == expected.hex and "vCPU" in other.explanation

    policy = policy_from_measurement(expected, SnpPolicy(vmpl=0, measurements=(b"\x02" * 48,)))
    assert policy.measurements == (expected.digest,) and policy.vmpl == 0
    kept = policy_from_measurement(expected, SnpPolicy(measurements=(b"\x02" * 48,)), keep_existing=True)
    assert kept.measurements == (b"\x02" * 48, expected.digest)
    verdict = validate_snp(report, policy_from_measurement(expected), Verdict(platform="snp"))
    assert verdict.get("policy.measurement").status is Status.PASS


def test_missing_and_garbage_files_are_typed(tmp_path: Path, ovmf: Path, boot_files: tuple[Path, Path]) -> None:
    cases = []
    cases.append((MeasurementInputs(ovmf=tmp_path / "nope.fd", vcpus=1), "does not exist"))
    garbage = tmp_path / "garbage.fd"
    garbage.write_bytes(hashlib.shake_256(b"x").digest(8192))
    cases.append((MeasurementInputs(ovmf=garbage, vcpus=1), "SEV-SNP capable OVMF"))
    odd = tmp_path / "odd.fd"
    odd.write_bytes(b"\x00" * 5000)
    cases.append((MeasurementInputs(ovmf=odd, vcpus=1), "4 KiB pages"))
    cases.append((MeasurementInputs(ovmf=tmp_path, vcpus=1), "not a regular file"))
    no_hashes = tmp_path / "nohashes.fd"
    no_hashes.write_bytes(fake_ovmf(kernel_hashes=False))
    cases.append((MeasurementInputs(ovmf=no_hashes, vcpus=1, kernel=boot_files[0]), "kernel"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=1, kernel=tmp_path / "vmlinuz-missing"), "kernel file"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=0), "vCPU count"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=1, vcpu_type="EPYC-Nope"), "unknown vCPU type"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=1, append="quiet"), "only measured with a kernel"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=1, ovmf_hash=b"short"), "48 bytes"))
    cases.append((MeasurementInputs(ovmf=ovmf, vcpus=1, guest_features=-1), "guest features"))
    for inputs, message in cases:
        with pytest.raises(MeasurementInputError, match=message) as info:
            compute_measurement(inputs)
        assert isinstance(info.value, BadInput) and info.value.code == "snp-measurement-input"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, SIZE - 1), st.integers(0, 255)), max_size=6),
       st.sampled_from([SIZE - 64, SIZE - 40, SIZE - 32, 0x1000, 0x1004, 0x1010]))
def test_fuzz_damaged_ovmf_raises_only_typed_errors(tmp_path: Path, edits: list[tuple[int, int]],
                                                    hot: int) -> None:
    data = bytearray(fake_ovmf())
    for pos, value in edits:
        data[pos] = value
    data[hot] ^= 0xFF  # always damage the metadata or the GUID table somewhere
    path = tmp_path / "fuzz.fd"
    path.write_bytes(bytes(data))
    try:
        result = compute_measurement(MeasurementInputs(ovmf=path, vcpus=1))
    except MeasurementInputError as exc:
        assert str(exc)
        return
    assert isinstance(result, ExpectedMeasurement) and len(result.digest) == 48


def test_plain_strings_are_accepted_and_bad_vmm_is_typed(ovmf: Path) -> None:
    inputs = MeasurementInputs(ovmf=str(ovmf), vcpus=1, vmm="ec2")  # type: ignore[arg-type]
    assert inputs.ovmf == ovmf and inputs.vmm is VmmType.EC2
    assert len(compute_measurement(inputs).digest) == 48
    with pytest.raises(MeasurementInputError, match="unknown VMM type 'kvm'"):
        MeasurementInputs(ovmf=ovmf, vcpus=1, vmm="kvm")  # type: ignore[arg-type]


def test_compare_rejects_a_report_that_does_not_parse(ovmf: Path) -> None:
    expected = compute_measurement(MeasurementInputs(ovmf=ovmf, vcpus=1))
    with pytest.raises(BadInput, match="1184 bytes"):
        compare(b"\x00" * 100, expected)
