"""Tell what a blob of collateral is from its content (not its file name).

Used for loose folders, for the issuer chains PCS returns in headers, and to recover a damaged
cache index. ``classify_blob`` returns (kind, key, bytes) triples: a file holding exactly one
item keeps its bytes as they are; a bundle of unrelated certificates is split into DER items.
"""

from __future__ import annotations

import json
import logging

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from core.attestation import x509load
from core.attestation.collateral import kinds as K
from core.attestation.snp.certs import CertRole, classify, load_certificates, parse_vek_extensions
from core.attestation.snp.tcb import Product
from core.errors import EvidenceError

log = logging.getLogger(__name__)

Classified = tuple[str, str, bytes]

_INTEL_CHAIN_KEYS = {
    "Intel SGX TCB Signing": "tcb_signing",
    "Intel SGX PCK Platform CA": K.intel_pck_chain_key("platform"),
    "Intel SGX PCK Processor CA": K.intel_pck_chain_key("processor"),
    "Intel SGX Root CA": K.ROOT_KEY,
}
_INTEL_CRL_ISSUERS = {
    "Intel SGX Root CA": (K.INTEL_ROOT_CRL, K.ROOT_KEY),
    "Intel SGX PCK Platform CA": (K.INTEL_PCK_CRL, "platform"),
    "Intel SGX PCK Processor CA": (K.INTEL_PCK_CRL, "processor"),
}


def cn_of(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def classify_blob(data: bytes) -> list[Classified]:
    """Every collateral item in ``data``; empty when it holds none (a report, a quote, notes)."""
    head = data.lstrip()[:64]
    if head.startswith(b"{"):
        return _classify_json(data)
    if b"-----BEGIN X509 CRL" in head:
        return _classify_crl(data)
    if b"-----BEGIN CERTIFICATE" in data[:4096]:
        return _classify_certs(data)
    if head.startswith(b"\x30"):
        return _classify_certs(data) or _classify_crl(data)
    return []


# --- Intel JSON --------------------------------------------------------------------------------

def _classify_json(data: bytes) -> list[Classified]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not isinstance(doc, dict):
        return []
    tcb, identity = doc.get("tcbInfo"), doc.get("enclaveIdentity")
    if isinstance(tcb, dict) and isinstance(tcb.get("fmspc"), str):
        return [(K.INTEL_TCB_INFO, K.fmspc_key(tcb["fmspc"]), data)]
    if isinstance(identity, dict) and isinstance(identity.get("id"), str):
        return [(K.INTEL_QE_IDENTITY, identity["id"], data)]
    return []


# --- CRLs ----------------------------------------------------------------------------------------

def _classify_crl(data: bytes) -> list[Classified]:
    try:
        issuer = cn_of(x509load.load_crl(data).issuer)
    except ValueError:
        return []
    if issuer in _INTEL_CRL_ISSUERS:
        kind, key = _INTEL_CRL_ISSUERS[issuer]
        return [(kind, key, data)]
    if issuer.startswith("ARK-") and (product := Product.from_name(issuer[4:])) is not None:
        # KDS serves the same ARK-signed CRL shape on the vcek and vlek paths; content cannot
        # tell them apart, so a loose CRL is filed under the VCEK path it is normally fetched from.
        return [(K.AMD_CRL, K.amd_chain_key(product), data)]
    return []


# --- certificates ------------------------------------------------------------------------------

def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _classify_certs(data: bytes) -> list[Classified]:
    try:
        certs = load_certificates(data, source="a collateral file")
    except EvidenceError:
        return []
    if not certs:
        return []
    first_cn = cn_of(certs[0].subject)
    if first_cn in _INTEL_CHAIN_KEYS:
        return [(K.INTEL_ISSUER_CHAIN, _INTEL_CHAIN_KEYS[first_cn], data)]
    amd = [(c, *classify(c)) for c in certs]
    if any(role is None for _, role, _ in amd):
        return []  # PCK leaves, TLS certificates and the like are not collateral
    chain = _as_amd_chain(amd)
    if chain is not None:
        return [(K.AMD_CERT_CHAIN, chain, data)]
    out: list[Classified] = []
    for cert, role, product in amd:
        blob = data if len(certs) == 1 else _der(cert)
        item = _amd_single(cert, role, product, blob)
        if item is not None:
            out.append(item)
    return out


def _as_amd_chain(amd: list[tuple[x509.Certificate, CertRole | None, Product | None]]) -> str | None:
    """The chain key when the certificates are exactly ASK+ARK or ASVK+ARK of one product."""
    if len(amd) != 2:
        return None
    roles = {role for _, role, _ in amd}
    products = {product for _, _, product in amd}
    if len(products) != 1 or roles not in ({CertRole.ASK, CertRole.ARK}, {CertRole.ASVK, CertRole.ARK}):
        return None
    product = products.pop()
    assert product is not None
    return K.amd_chain_key(product, vlek=CertRole.ASVK in roles)


def _amd_single(cert: x509.Certificate, role: CertRole | None, product: Product | None,
                blob: bytes) -> Classified | None:
    if role in (CertRole.ARK, CertRole.ASK, CertRole.ASVK):
        assert product is not None and role is not None
        return (K.AMD_CA_CERT, f"{role.value}/{product.value}", blob)
    try:
        ext = parse_vek_extensions(cert)
    except EvidenceError as exc:
        log.info("skipping an AMD %s certificate with unreadable extensions: %s", role, exc)
        return None
    product = ext.product or Product.from_name(cn_of(cert.issuer).rsplit("-", 1)[-1])
    if product is None:
        return None
    if role is CertRole.VLEK:
        return (K.AMD_VLEK, K.vlek_key(product, ext.csp_id or "unknown-csp", ext.tcb()), blob)
    if ext.hw_id is None:
        return None
    return (K.AMD_VCEK, K.vcek_key(product, ext.hw_id, ext.tcb()), blob)
