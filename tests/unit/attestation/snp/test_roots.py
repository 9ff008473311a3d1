"""Pinned AMD roots and the explicitly trusted sandbox root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.attestation.roots import AMD_PINS, AMD_ROOTS_DIR, TrustAnchorError, TrustStore, der_sha256, pinned_identity
from core.attestation.snp.certs import CertRole, load_certificate_files
from core.attestation.snp.tcb import Product


@pytest.mark.parametrize("product", list(Product))
def test_shipped_roots_match_their_pins(product):
    roots = TrustStore().amd_roots(product)
    assert der_sha256(roots.ark) == AMD_PINS[(product, CertRole.ARK)]
    assert der_sha256(roots.ask) == AMD_PINS[(product, CertRole.ASK)]
    assert pinned_identity(roots.asvk) == (product, CertRole.ASVK)


def test_pins_equal_the_spec_fingerprints():
    assert AMD_PINS[(Product.MILAN, CertRole.ARK)].upper() == (
        "69:D0:63:B4:53:44:D2:6A:2E:94:E1:F4:21:0D:E4:9E:F5:55:30:82:87:D4:C1:74:44:5C:95:63:9A:54:0B:CD"
        .replace(":", ""))


def test_shipped_roots_equal_the_corpus_copies(snp_data):
    for product in ("milan", "genoa", "turin"):
        corpus = load_certificate_files(snp_data / "amd_roots" / product / "ask_ark_asvk.pem")
        shipped = load_certificate_files(*(AMD_ROOTS_DIR / product / f for f in ("ask.pem", "ark.pem", "asvk.pem")))
        assert {der_sha256(c) for c in corpus} == {der_sha256(c) for c in shipped}


def test_a_tampered_root_file_is_refused(tmp_path: Path):
    shutil.copytree(AMD_ROOTS_DIR, tmp_path / "amd")
    # Swap in the Genoa ARK under Milan's name: a valid certificate, but not Milan's pin.
    shutil.copy(AMD_ROOTS_DIR / "genoa" / "ark.pem", tmp_path / "amd" / "milan" / "ark.pem")
    with pytest.raises(TrustAnchorError, match="does not match the pinned AMD ARK for Milan") as info:
        TrustStore(tmp_path / "amd").amd_roots(Product.MILAN)
    assert info.value.code == "trust-anchor"
    with pytest.raises(TrustAnchorError, match="missing"):
        TrustStore(tmp_path / "nowhere").amd_roots(Product.GENOA)


def test_sandbox_roots_are_off_by_default(milan_chain):
    store = TrustStore()
    assert store.sandbox_roots == () and not store.is_sandbox_root(milan_chain.ark)
    store.add_sandbox_root(milan_chain.ark)
    assert store.is_sandbox_root(milan_chain.ark)
    assert not TrustStore().is_sandbox_root(milan_chain.ark)  # never leaks to other stores


def test_only_a_self_signed_ark_can_be_a_sandbox_root(milan_chain):
    with pytest.raises(TrustAnchorError, match="self-signed ARK"):
        TrustStore().add_sandbox_root(milan_chain.ask)
