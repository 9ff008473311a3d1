"""The SNP measurement workbench: the launch digest a VM should have, from its boot inputs (§2.10).

It drives the ``sev-snp-measure`` package as a library for OVMF-based guests (QEMU, EC2, GCE): the
OVMF image, optional direct-boot kernel, initrd and command line (measured through OVMF's hash
table page), vCPU count and type, and guest features (SEV_FEATURES of each VMSA). The result can be
compared with a report's MEASUREMENT or turned into an SNP policy.

Cocos' IGVM images (COCONUT-SVSM) are measured with ``igvmmeasure`` instead; their reference value
comes from the CoRIM. Inputs are checked here first so a wrong file or number gets a message a
person can act on rather than a failure deep inside the library.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from core.attestation.snp.checks import validate_check
from core.attestation.snp.policy import SnpPolicy
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.verdict import Check
from core.errors import BadInput

log = logging.getLogger(__name__)

DIGEST_SIZE = 48
PAGE_SIZE = 4096
MAX_VCPUS = 512
GUEST_FEATURES_DEFAULT = 0x1   # SNPActive; kernels >= 6.6 usually run with 0x21 (adds DebugSwap)


class MeasurementInputError(BadInput):
    """A boot input of the measurement workbench is missing, unreadable or not what it should be."""

    code = "snp-measurement-input"


class VmmType(str, Enum):
    QEMU = "qemu"
    EC2 = "ec2"
    GCE = "gce"


@dataclass(frozen=True, slots=True)
class MeasurementInputs:
    """Everything the launch digest of an OVMF-based SNP guest depends on."""

    ovmf: Path
    vcpus: int
    vcpu_type: str = "EPYC-v4"
    kernel: Path | None = None
    initrd: Path | None = None
    append: str | None = None
    guest_features: int = GUEST_FEATURES_DEFAULT
    vmm: VmmType = VmmType.QEMU
    vcpu_signature: int | None = None   # overrides vcpu_type (CPUID Fn0000_0001_EAX)
    ovmf_hash: bytes | None = None      # precomputed digest of the OVMF pages (see ``ovmf_digest``)

    def __post_init__(self) -> None:
        # Accept plain strings from the CLI and settings; keep Path and VmmType inside.
        for name in ("ovmf", "kernel", "initrd"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        try:
            object.__setattr__(self, "vmm", VmmType(self.vmm))
        except ValueError:
            raise MeasurementInputError(f"unknown VMM type {self.vmm!r}; use qemu, ec2 or gce") from None

    def describe(self) -> str:
        cpu = f"vCPU signature 0x{self.vcpu_signature:x}" if self.vcpu_signature is not None else self.vcpu_type
        parts = [f"OVMF {self.ovmf.name}", f"{self.vcpus} x {cpu}", f"guest features 0x{self.guest_features:x}",
                 f"VMM {self.vmm.value}"]
        if self.kernel is not None:
            parts.append(f"kernel {self.kernel.name}")
        if self.initrd is not None:
            parts.append(f"initrd {self.initrd.name}")
        if self.append:
            parts.append(f"command line {self.append!r}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ExpectedMeasurement:
    digest: bytes                 # the 48-byte SNP launch digest
    inputs: MeasurementInputs

    @property
    def hex(self) -> str:
        return self.digest.hex()


def vcpu_types() -> tuple[str, ...]:
    """The vCPU model names the library knows (QEMU's built-in EPYC models)."""
    from sevsnpmeasure.vcpu_types import CPU_SIGS
    return tuple(CPU_SIGS)


def compute_measurement(inputs: MeasurementInputs) -> ExpectedMeasurement:
    """The expected MEASUREMENT for these inputs; MeasurementInputError for bad inputs."""
    from sevsnpmeasure import guest
    from sevsnpmeasure.vmm_types import VMMType

    signature = _check_inputs(inputs)
    vmm = {VmmType.QEMU: VMMType.QEMU, VmmType.EC2: VMMType.ec2, VmmType.GCE: VMMType.gce}[inputs.vmm]
    digest = _run(lambda: guest.snp_calc_launch_digest(
        inputs.vcpus, signature, str(inputs.ovmf), str(inputs.kernel) if inputs.kernel else "",
        str(inputs.initrd) if inputs.initrd else "", inputs.append or "", inputs.guest_features,
        inputs.ovmf_hash.hex() if inputs.ovmf_hash else "", vmm), inputs.ovmf)
    log.info("computed SNP launch digest %s for %s", digest.hex(), inputs.describe())
    return ExpectedMeasurement(bytes(digest), inputs)


def ovmf_digest(ovmf: Path | str) -> bytes:
    """The launch digest after the OVMF pages alone (reusable as ``MeasurementInputs.ovmf_hash``)."""
    from sevsnpmeasure.guest import calc_snp_ovmf_hash

    path = Path(ovmf)
    _check_ovmf(path)
    return bytes(_run(lambda: calc_snp_ovmf_hash(str(path)), path))


def compare(report: AttestationReport | bytes, expected: ExpectedMeasurement) -> Check:
    """A policy check: does the report's MEASUREMENT equal the digest computed from the inputs?"""
    if not isinstance(report, AttestationReport):
        report = parse_report(report)
    ok = hmac.compare_digest(report.measurement, expected.digest)
    return validate_check(
        "workbench.measurement", ok,
        f"The VM's launch measurement equals the digest computed from {expected.inputs.describe()}."
        if ok else "The VM's launch measurement differs from the digest computed from "
        f"{expected.inputs.describe()}. The VM booted other firmware, kernel, initrd or command line, or "
        "with another vCPU count, vCPU type, guest features or VMM; check each input.",
        expected=expected.hex, actual=report.measurement.hex())


def policy_from_measurement(expected: ExpectedMeasurement, base: SnpPolicy | None = None, *,
                            keep_existing: bool = False) -> SnpPolicy:
    """``base`` (or a default policy) allowing exactly this launch digest.

    With ``keep_existing`` the digest is added to the base's allow-list instead of replacing it.
    """
    base = base if base is not None else SnpPolicy()
    allowed = base.measurements if keep_existing else ()
    if expected.digest not in allowed:
        allowed = (*allowed, expected.digest)
    return replace(base, measurements=allowed)


# --- input checks -----------------------------------------------------------------------------

def _check_inputs(inputs: MeasurementInputs) -> int:
    _check_ovmf(Path(inputs.ovmf))
    if not isinstance(inputs.vcpus, int) or not 1 <= inputs.vcpus <= MAX_VCPUS:
        raise MeasurementInputError(f"the vCPU count must be between 1 and {MAX_VCPUS}; got {inputs.vcpus!r}")
    if not isinstance(inputs.guest_features, int) or not 0 <= inputs.guest_features < 1 << 64:
        raise MeasurementInputError(
            f"guest features must be a 64-bit SEV_FEATURES value such as 0x1 or 0x21; got {inputs.guest_features!r}")
    if inputs.ovmf_hash is not None and len(inputs.ovmf_hash) != DIGEST_SIZE:
        raise MeasurementInputError(f"a precomputed OVMF digest is {DIGEST_SIZE} bytes (SHA-384); "
                                    f"got {len(inputs.ovmf_hash)}")
    if inputs.kernel is None and (inputs.initrd is not None or inputs.append):
        raise MeasurementInputError("an initrd or command line is only measured with a kernel; "
                                    "add the kernel, or remove the initrd and command line")
    for label, path in (("kernel", inputs.kernel), ("initrd", inputs.initrd)):
        if path is not None:
            _check_file(Path(path), label)
    return _signature(inputs)


def _signature(inputs: MeasurementInputs) -> int:
    if inputs.vcpu_signature is not None:
        if not 0 <= inputs.vcpu_signature < 1 << 32:
            raise MeasurementInputError(f"a vCPU signature is a 32-bit CPUID value; got {inputs.vcpu_signature!r}")
        return inputs.vcpu_signature
    from sevsnpmeasure.vcpu_types import CPU_SIGS
    if inputs.vcpu_type not in CPU_SIGS:
        raise MeasurementInputError(f"unknown vCPU type {inputs.vcpu_type!r}; use one of "
                                    f"{', '.join(CPU_SIGS)} or give the CPUID signature")
    return int(CPU_SIGS[inputs.vcpu_type])


def _check_file(path: Path, label: str) -> int:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise MeasurementInputError(f"the {label} {path} is not a regular file")
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise MeasurementInputError(f"the {label} file {path} does not exist; check the path") from None
    except PermissionError:
        raise MeasurementInputError(f"the {label} file {path} cannot be read (permission denied)") from None
    except OSError as exc:
        raise MeasurementInputError(f"the {label} file {path} cannot be read: {exc.strerror or exc}") from None
    return size


def _check_ovmf(path: Path) -> None:
    size = _check_file(path, "OVMF firmware")
    if size == 0 or size % PAGE_SIZE:
        raise MeasurementInputError(
            f"the OVMF firmware {path} is {size} bytes, not a whole number of 4 KiB pages; it is not an "
            "OVMF image (use the OVMF.fd the VM boots, not a vars file or an archive)")


def _run(compute: Callable[[], bytes], ovmf: Path) -> bytes:
    """Call into the library, turning its untyped failures into one typed, readable error."""
    try:
        return compute()
    except OSError as exc:
        raise MeasurementInputError(f"a measurement input cannot be read: {exc}") from exc
    except (RuntimeError, ValueError, AssertionError, KeyError, IndexError, TypeError) as exc:
        detail = str(exc) or type(exc).__name__
        raise MeasurementInputError(
            f"the launch digest cannot be computed from {ovmf.name}: {detail}. The firmware must be an "
            "SEV-SNP capable OVMF build (with its SEV metadata and GUID table), and direct kernel boot "
            "needs an OVMF that reserves a kernel-hashes page") from exc
