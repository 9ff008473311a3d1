"""The app's trust anchors for AMD SEV-SNP: pinned ARK/ASK/ASVK per product (ATTESTATION.md §2.5).

The certificates ship in resources/roots/amd/<product>/{ark,ask,asvk}.pem, but a file alone is
never trusted: it must byte-match (SHA-256 of DER) the pin written here in code. A sandbox root
(the simulated TEE of the embedded host) is trusted only after an explicit ``add_sandbox_root``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from core.attestation.snp.certs import CertRole, classify, common_name, load_certificate
from core.attestation.snp.tcb import Product
from core.errors import Refused

log = logging.getLogger(__name__)

AMD_ROOTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "roots" / "amd"

#: SHA-256 of the DER of each AMD CA certificate (ATTESTATION.md §2.5)
AMD_PINS: dict[tuple[Product, CertRole], str] = {
    (Product.MILAN, CertRole.ARK): "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    (Product.MILAN, CertRole.ASK): "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
    (Product.MILAN, CertRole.ASVK): "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
    (Product.GENOA, CertRole.ARK): "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    (Product.GENOA, CertRole.ASK): "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
    (Product.GENOA, CertRole.ASVK): "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
    (Product.TURIN, CertRole.ARK): "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    (Product.TURIN, CertRole.ASK): "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
    (Product.TURIN, CertRole.ASVK): "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
}
_PIN_LOOKUP = {fp: key for key, fp in AMD_PINS.items()}
_FILES = {CertRole.ARK: "ark.pem", CertRole.ASK: "ask.pem", CertRole.ASVK: "asvk.pem"}


class TrustAnchorError(Refused):
    """A shipped or offered trust anchor that the app refuses to trust."""

    code = "trust-anchor"


@lru_cache(maxsize=512)
def der_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def pinned_identity(cert: x509.Certificate) -> tuple[Product, CertRole] | None:
    """(product, role) when ``cert`` byte-matches one of the AMD pins, else None."""
    return _PIN_LOOKUP.get(der_sha256(cert))


@dataclass(frozen=True, slots=True)
class AmdRoots:
    product: Product
    ark: x509.Certificate
    ask: x509.Certificate
    asvk: x509.Certificate

    def intermediate(self, role: CertRole) -> x509.Certificate:
        return self.asvk if role is CertRole.ASVK else self.ask


def _load_pinned_file(directory: Path, product: Product, role: CertRole) -> x509.Certificate:
    path = directory / product.value.lower() / _FILES[role]
    try:
        cert = load_certificate(path.read_bytes(), source=str(path))
    except OSError as exc:
        raise TrustAnchorError(
            f"the pinned AMD {role.value} for {product.value} is missing ({path}); reinstall the app") from exc
    if der_sha256(cert) != AMD_PINS[(product, role)]:
        raise TrustAnchorError(
            f"{path} does not match the pinned AMD {role.value} for {product.value}; the file was altered, "
            "so it is not trusted. Reinstall the app.")
    return cert


@lru_cache(maxsize=16)
def _pinned_roots(directory: Path, product: Product) -> AmdRoots:
    # Parsed once per process: pins make the content immutable, so caching is safe.
    certs = {role: _load_pinned_file(directory, product, role) for role in _FILES}
    ark = certs[CertRole.ARK]
    try:
        # Verified once here, so a verification that reuses these exact certificates need not redo it.
        ark.verify_directly_issued_by(ark)
        certs[CertRole.ASK].verify_directly_issued_by(ark)
        certs[CertRole.ASVK].verify_directly_issued_by(ark)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise TrustAnchorError(f"the pinned AMD chain for {product.value} does not verify") from exc
    return AmdRoots(product, certs[CertRole.ARK], certs[CertRole.ASK], certs[CertRole.ASVK])


class TrustStore:
    """Pinned AMD roots plus, only when explicitly added, sandbox roots."""

    def __init__(self, roots_dir: Path | None = None) -> None:
        self._dir = roots_dir or AMD_ROOTS_DIR
        self._sandbox: dict[str, x509.Certificate] = {}

    def amd_roots(self, product: Product) -> AmdRoots:
        """The pinned ARK, ASK and ASVK of ``product``; raises ``TrustAnchorError`` if tampered."""
        return _pinned_roots(self._dir, Product(product))

    def add_sandbox_root(self, cert: x509.Certificate) -> None:
        """Trust a self-signed test/sandbox ARK. Off by default; only for the simulated TEE."""
        role, _ = classify(cert)
        if role is not CertRole.ARK or cert.issuer != cert.subject:
            raise TrustAnchorError(
                f"a sandbox root must be a self-signed ARK certificate; '{common_name(cert)}' is not")
        try:
            cert.verify_directly_issued_by(cert)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise TrustAnchorError(
                f"the sandbox root '{common_name(cert)}' is not validly self-signed") from exc
        log.warning("trusting a sandbox SNP root %s (%s)", common_name(cert), der_sha256(cert)[:16])
        self._sandbox[der_sha256(cert)] = cert

    @property
    def sandbox_roots(self) -> tuple[x509.Certificate, ...]:
        return tuple(self._sandbox.values())

    def is_sandbox_root(self, cert: x509.Certificate) -> bool:
        return der_sha256(cert) in self._sandbox
