"""Fixtures shared by the SNP tests: the real corpus (skipped when absent) and synthetic evidence."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.attestation.roots import TrustStore
from core.attestation.snp.certs import load_certificate_files
from core.attestation.snp.tcb import Product
from tests.conftest import shared_testdata

from .synth import CHIP_ID, MILAN_TCB, TURIN_CHIP_ID, TURIN_TCB, SynthChain, build_report, synth_chain, synth_leaf


@pytest.fixture
def snp_data() -> Path:
    return shared_testdata("attestation", "snp")


def utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def load_set(base: Path, leaf: str, chain: list[str]) -> tuple:
    certs = load_certificate_files(base / leaf)
    return certs[0], certs[1:] + load_certificate_files(*[base / c for c in chain])


@pytest.fixture(scope="session")
def milan_chain() -> SynthChain:
    return synth_chain(Product.MILAN)


@pytest.fixture(scope="session")
def turin_chain() -> SynthChain:
    return synth_chain(Product.TURIN)


@pytest.fixture
def sandbox_trust(milan_chain: SynthChain, turin_chain: SynthChain) -> TrustStore:
    trust = TrustStore()
    trust.add_sandbox_root(milan_chain.ark)
    trust.add_sandbox_root(turin_chain.ark)
    return trust


@pytest.fixture(scope="session")
def milan_vcek(milan_chain: SynthChain):
    return synth_leaf(milan_chain, MILAN_TCB, hw_id=CHIP_ID)


@pytest.fixture(scope="session")
def milan_report() -> bytes:
    return build_report(reported_tcb=MILAN_TCB)


@pytest.fixture(scope="session")
def turin_vcek(turin_chain: SynthChain):
    return synth_leaf(turin_chain, TURIN_TCB, hw_id=TURIN_CHIP_ID[:8], key_label="turin")


@pytest.fixture(scope="session")
def turin_report() -> bytes:
    return build_report(product=Product.TURIN, version=5, reported_tcb=TURIN_TCB, chip_id=TURIN_CHIP_ID,
                        key_label="turin", platform_info=0x65)
