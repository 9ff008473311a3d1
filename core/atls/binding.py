"""How the TLS session is bound into the attestation (§12.5), per platform.

exported_value = TLS-Exporter("Attestation", certificate_request_context, 32)
aik_pub_hash   = H(leaf_spki_der)
binding        = H(leaf_spki_der || exported_value)
REPORT_DATA    = SHA-512(binding)                          (SNP, TDX)
               = SHA3-512(SHA-512(binding) || AK_pub)      (SNP-vTPM)
eat_nonce      = SHA-256(exported_value)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.atls.suites import SuiteHash


@dataclass(frozen=True, slots=True)
class Binder:
    aik_pub_hash: bytes
    binding: bytes


def compute_binder(leaf_spki_der: bytes, exported_value: bytes, hash_: SuiteHash) -> Binder:
    return Binder(aik_pub_hash=hash_.digest(leaf_spki_der),
                  binding=hash_.digest(leaf_spki_der + exported_value))


def eat_nonce(exported_value: bytes) -> bytes:
    """The EAT eat_nonce (and vTPM quote extraData) for this session: always SHA-256."""
    return hashlib.sha256(exported_value).digest()


def report_data(binding: bytes) -> bytes:
    """The 64-byte REPORT_DATA an SNP or TDX guest puts in its hardware evidence."""
    return hashlib.sha512(binding).digest()


def report_data_vtpm(binding: bytes, ak_pub: bytes) -> bytes:
    """SNP-vTPM: the SNP REPORT_DATA also commits to the vTPM attestation key (TPMT_PUBLIC bytes)."""
    return hashlib.sha3_512(report_data(binding) + ak_pub).digest()


def expected_report_data(platform: str, binding: bytes, ak_pub: bytes = b"") -> bytes:
    """REPORT_DATA for a routed platform ("snp", "tdx", "snp-vtpm")."""
    return report_data_vtpm(binding, ak_pub) if platform == "snp-vtpm" else report_data(binding)
