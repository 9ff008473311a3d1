"""Evidence for the inspector tests: real sets from the shared corpus and synthetic ones made here."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.conftest import shared_testdata

MSTAV_CAPTURE = datetime(2026, 2, 6, tzinfo=timezone.utc)


def real_set(name: str) -> Path:
    return shared_testdata("attestation", "snp", name)


def mstav_files() -> tuple[Path, list[Path]]:
    folder = real_set("mstav_milan_v3_vcek")
    return folder / "report.bin", [folder / "vcek.pem", folder / "ask.pem", folder / "ark.pem"]


def write_synthetic(folder: Path, *, policy: int = 0x30000) -> tuple[Path, list[Path]]:
    """A signed synthetic Milan report with its VCEK and a test ARK/ASK (not AMD's)."""
    from tests.unit.attestation.snp.synth import CHIP_ID, MILAN_TCB, build_report, synth_chain, synth_leaf

    chain = synth_chain()
    report = folder / "synthetic-report.bin"
    report.write_bytes(build_report(reported_tcb=MILAN_TCB, policy=policy))
    vcek = folder / "synthetic-vcek.pem"
    vcek.write_bytes(synth_leaf(chain, MILAN_TCB, hw_id=CHIP_ID).public_bytes(serialization.Encoding.PEM))
    cas = folder / "synthetic-ask-ark.pem"
    cas.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain.vcek_chain))
    return report, [vcek, cas]


def write_policy(folder: Path, **changes: object) -> Path:
    from dataclasses import replace

    from core.attestation.snp.policy import SnpPolicy

    path = folder / "no-debug-policy.json"
    path.write_bytes(replace(SnpPolicy(), **changes).to_json())
    return path
