"""Pick, from a cache or a list of items, the collateral that verifies one piece of evidence.

Matching is by content: the VCEK whose hwID and TCB equal the report's CHIP_ID and REPORTED_TCB,
the CA certificates of its product, the TCB Info of the PCK's FMSPC. Keys are only a shortcut.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.fetch import pck_facts
from core.attestation.collateral.items import CollateralItem, load_crl
from core.attestation.snp.bits import SigningKey
from core.attestation.snp.certs import classify, load_certificates, parse_vek_extensions
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.tdx.collateral import TdxCollateral, parse_crl, parse_qe_identity, parse_tcb_info
from core.attestation.tdx.pck import load_pem_chain
from core.attestation.tdx.quote import TdxQuote
from core.errors import EvidenceError

ItemSource = CollateralCache | Iterable[CollateralItem]
WORKSPACE_CACHE_FOLDER = "collateral"  # the folder CollateralCache.for_workspace uses


def _all(source: ItemSource) -> list[CollateralItem]:
    return source.items() if isinstance(source, CollateralCache) else list(source)


def workspace_items(cache_dir: str | Path) -> list[CollateralItem]:
    """Every item in the collateral cache of the workspace whose cache folder is ``cache_dir``.

    Only reads: a workspace that never cached collateral has no cache folder, and none is made.
    """
    if not (Path(cache_dir) / WORKSPACE_CACHE_FOLDER).is_dir():
        return []
    return CollateralCache.for_workspace(Path(cache_dir)).items()


# --- SEV-SNP -----------------------------------------------------------------------------------

def _leaf_matches(cert: x509.Certificate, report: AttestationReport, vlek: bool) -> Product | None:
    """The product when ``cert`` is the key that must have signed ``report``, else None."""
    try:
        ext = parse_vek_extensions(cert)
    except EvidenceError:
        return None
    product = ext.product
    named = report.product if report.product_source in ("cpuid", "given") else None
    if product is None or (named is not None and named is not product):
        return None
    reported = TcbVersion.decode(report.reported_tcb.raw, product)
    if ext.tcb().components() != reported.components():
        return None
    if vlek:
        return product
    chip = report.chip_id[:8] if product.turin_layout else report.chip_id
    return product if ext.hw_id == chip else None


def _find_leaf(items: list[CollateralItem], report: AttestationReport
               ) -> tuple[x509.Certificate | None, Product | None]:
    vlek = report.signer_info.signing_key is SigningKey.VLEK
    kind = K.AMD_VLEK if vlek else K.AMD_VCEK
    for item in items:
        if item.kind != kind:
            continue
        cert = load_certificates(item.data, source=item.describe())[0]
        product = _leaf_matches(cert, report, vlek)
        if product is not None:
            return cert, product
    return None, report.product


def snp_inputs(source: ItemSource, report: AttestationReport | bytes
               ) -> tuple[x509.Certificate | None, list[x509.Certificate], x509.CertificateRevocationList | None]:
    """(VCEK or VLEK, AMD CA certificates, CRL) for ``report``, ready for ``verify_snp``.

    Missing pieces are None / empty: the verifier then reports exactly what is missing (and fills
    in pinned CA certificates itself).
    """
    parsed = report if isinstance(report, AttestationReport) else parse_report(report)
    items = _all(source)
    leaf, product = _find_leaf(items, parsed)
    vlek = parsed.signer_info.signing_key is SigningKey.VLEK
    chain: list[x509.Certificate] = []
    seen: set[bytes] = set()
    for item in items:
        if item.kind not in (K.AMD_CERT_CHAIN, K.AMD_CA_CERT):
            continue
        for cert in load_certificates(item.data, source=item.describe()):
            role, cert_product = classify(cert)
            fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
            if role is not None and (product is None or cert_product is product) and fingerprint not in seen:
                seen.add(fingerprint)
                chain.append(cert)
    crl = None
    if product is not None:
        crl_item = (_one(items, K.AMD_CRL, K.amd_chain_key(product, vlek=vlek))
                    or _one(items, K.AMD_CRL, K.amd_chain_key(product)))
        crl = load_crl(crl_item.data, "AMD CRL") if crl_item is not None else None
    return leaf, chain, crl


def _one(items: list[CollateralItem], kind: str, key: str) -> CollateralItem | None:
    return next((i for i in items if i.kind == kind and i.key == key), None)


# --- TDX -----------------------------------------------------------------------------------------

def tdx_collateral(source: ItemSource, quote: bytes | TdxQuote) -> TdxCollateral:
    """A ``TdxCollateral`` for ``quote`` (bytes or ``TdxQuote``) from the items at hand.

    Parts that are missing stay empty, and ``verify_tdx`` reports them.
    """
    fmspc, ca = pck_facts(quote)
    items = _all(source)

    def chain(key: str) -> tuple[x509.Certificate, ...]:
        item = _one(items, K.INTEL_ISSUER_CHAIN, key)
        return load_pem_chain(item.data, "issuer chain") if item is not None else ()

    tcb = _one(items, K.INTEL_TCB_INFO, K.fmspc_key(fmspc))
    qe = _one(items, K.INTEL_QE_IDENTITY, K.TDX_QE_IDENTITY_ID)
    pck_crl = _one(items, K.INTEL_PCK_CRL, ca)
    root_crl = _one(items, K.INTEL_ROOT_CRL, K.ROOT_KEY)
    return TdxCollateral(
        tcb_info=parse_tcb_info(tcb.data) if tcb is not None else None,
        qe_identity=parse_qe_identity(qe.data) if qe is not None else None,
        tcb_info_issuer_chain=chain("tcb_signing"),
        qe_identity_issuer_chain=chain("tcb_signing"),
        pck_crl=parse_crl(pck_crl.data, "PCK CRL") if pck_crl is not None else None,
        pck_crl_issuer_chain=chain(K.intel_pck_chain_key(ca)),
        root_crl=parse_crl(root_crl.data, "Intel SGX Root CA CRL") if root_crl is not None else None,
    )
