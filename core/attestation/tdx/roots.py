"""The pinned Intel SGX Root CA, and the trust anchors a TDX verification accepts.

The app ships Intel's root in resources/roots/intel/ and checks it against the SHA-256 pin in
this module at load time, so a swapped resource file cannot become a trust anchor. Any other
root (the sandbox's simulated TEE, test evidence) is trusted only when a caller builds a
``TdxTrust`` with it explicitly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.errors import PrismError

from .crypto import der_of

INTEL_SGX_ROOT_CA_SHA256 = bytes.fromhex(
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
)
ROOT_RESOURCE = (
    Path(__file__).resolve().parents[3] / "resources" / "roots" / "intel" / "Intel_SGX_Root_CA.pem"
)


class PinnedRootError(PrismError):
    """The shipped root certificate does not match its pin: the installation is damaged."""

    code = "tdx-root-pin"


def fingerprint(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


@lru_cache(maxsize=1)
def intel_sgx_root() -> x509.Certificate:
    """The pinned Intel SGX Root CA (raises PinnedRootError if the resource was altered)."""
    try:
        cert = x509.load_pem_x509_certificate(ROOT_RESOURCE.read_bytes())
    except (OSError, ValueError) as exc:
        raise PinnedRootError(
            f"the pinned Intel SGX Root CA at {ROOT_RESOURCE} cannot be read ({exc}); "
            "reinstall the application"
        ) from None
    if fingerprint(cert) != INTEL_SGX_ROOT_CA_SHA256:
        raise PinnedRootError(
            f"the Intel SGX Root CA at {ROOT_RESOURCE} does not match its pin "
            f"({colon_hex(INTEL_SGX_ROOT_CA_SHA256)}); reinstall the application"
        )
    return cert


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    certificate: x509.Certificate
    der: bytes
    label: str          # shown to the user: which root this chain ends in
    is_intel: bool


@dataclass(frozen=True, slots=True)
class TdxTrust:
    """The roots a verification accepts. Default: only the pinned Intel root."""

    anchors: tuple[TrustAnchor, ...]

    @classmethod
    def intel(cls) -> TdxTrust:
        root = intel_sgx_root()
        return cls((TrustAnchor(root, root.public_bytes(Encoding.DER), "Intel SGX Root CA (pinned)", True),))

    @classmethod
    def with_extra_root(
        cls, root: x509.Certificate, *, label: str, explicitly_enabled: bool, include_intel: bool = True
    ) -> TdxTrust:
        """Also trust ``root`` (sandbox or tests). ``explicitly_enabled`` must be True.

        The flag exists so that trusting a non-Intel root is always a visible decision at the
        call site, never a default.
        """
        if not explicitly_enabled:
            raise PinnedRootError(
                "an extra TDX root is trusted only when explicitly enabled (sandbox or tests)",
                code="tdx-extra-root-disabled",
            )
        extra = TrustAnchor(root, root.public_bytes(Encoding.DER), label, False)
        base = cls.intel().anchors if include_intel else ()
        return cls((*base, extra))

    def anchor_for(self, cert: x509.Certificate) -> TrustAnchor | None:
        """The anchor that byte-equals ``cert``, if any (roots are matched by bytes, never by name)."""
        der = der_of(cert)
        return next((a for a in self.anchors if a.der == der), None)


def default_trust() -> TdxTrust:
    return TdxTrust.intel()
