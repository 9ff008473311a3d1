"""AMD certificates: loading, role by name, and the VCEK/VLEK extensions (ATTESTATION.md §2.5-§2.6).

VCEKs and VLEKs carry serial number 0, which cryptography >= 45 reports with a
CryptographyDeprecationWarning. The loaders here silence exactly that warning (and nothing else);
tests/unit/attestation/snp/test_certs.py fails loudly if a release turns it into an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from core.attestation import x509load
from core.attestation.snp.der import read_ia5, read_integer, read_tlv, TAG_OCTET_STRING
from core.attestation.snp.tcb import Product, TcbVersion
from core.errors import EvidenceError

AMD_ARC = "1.3.6.1.4.1.3704.1."
_SERIAL_WARNING = r"Parsed a serial number which wasn't positive"


class SnpCertificateError(EvidenceError):
    code = "snp-certificate"


class CertRole(str, Enum):
    ARK = "ARK"
    ASK = "ASK"
    ASVK = "ASVK"
    VCEK = "VCEK"
    VLEK = "VLEK"


# --- loading -----------------------------------------------------------------------------

@contextmanager
def serial_zero_tolerated() -> Iterator[None]:
    """Silence only cryptography's warning about AMD's serial-0 leaf certificates."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SERIAL_WARNING, category=CryptographyDeprecationWarning)
        yield


def load_certificates(data: bytes, *, source: str = "certificate data") -> list[x509.Certificate]:
    """All certificates in PEM (one or many) or a single DER certificate."""
    try:
        with serial_zero_tolerated():
            return x509load.load_certificates(data)
    except ValueError as exc:
        raise SnpCertificateError(
            f"{source} is not a readable X.509 certificate (PEM or DER): {exc}") from exc


def serial_number(cert: x509.Certificate) -> int:
    """The serial number; reading it also warns for AMD's serial-0 leaves, hence the filter."""
    with serial_zero_tolerated():
        return cert.serial_number


def load_certificate(data: bytes, *, source: str = "certificate data") -> x509.Certificate:
    certs = load_certificates(data, source=source)
    if len(certs) != 1:
        raise SnpCertificateError(f"{source} holds {len(certs)} certificates where one was expected")
    return certs[0]


def load_certificate_files(*paths: str | Path) -> list[x509.Certificate]:
    """Load every certificate from PEM/DER files, in order (a chain as it was shipped)."""
    out: list[x509.Certificate] = []
    for path in paths:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise SnpCertificateError(f"cannot read certificate file {p}: {exc.strerror}") from exc
        out.extend(load_certificates(data, source=str(p)))
    return out


# --- names ---------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def common_name(cert: x509.Certificate) -> str:
    # Cached: names are read many times per verification and walking a Name is slow.
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


@lru_cache(maxsize=512)
def classify(cert: x509.Certificate) -> tuple[CertRole | None, Product | None]:
    """Role and product from the subject CN (Cocos swaps ARK/ASK fields, so names decide)."""
    cn = common_name(cert)
    if cn == "SEV-VCEK":
        return CertRole.VCEK, None
    if cn == "SEV-VLEK":
        return CertRole.VLEK, None
    for prefix, role in (("ARK-", CertRole.ARK), ("SEV-VLEK-", CertRole.ASVK), ("SEV-", CertRole.ASK)):
        if cn.startswith(prefix):
            product = Product.from_name(cn[len(prefix):])
            return (role, product) if product is not None else (None, None)
    return None, None


# --- VCEK / VLEK extensions -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VekExtensions:
    struct_version: int | None
    product_name: str | None
    bl_spl: int
    tee_spl: int
    snp_spl: int
    ucode_spl: int
    fmc_spl: int | None
    hw_id: bytes | None
    csp_id: str | None
    reserved_spls: tuple[int, ...]

    @property
    def product(self) -> Product | None:
        return Product.from_name(self.product_name) if self.product_name else None

    def tcb(self) -> TcbVersion:
        """The TCB this key was derived for (Turin layout when an FMC SPL is present)."""
        return TcbVersion.from_components(bootloader=self.bl_spl, tee=self.tee_spl, snp=self.snp_spl,
                                          microcode=self.ucode_spl, fmc=self.fmc_spl)


_SPL_NAMES = {"3.1": "blSPL", "3.2": "teeSPL", "3.3": "snpSPL", "3.8": "ucodeSPL", "3.9": "fmcSPL"}


def _spl(values: Mapping[str, bytes], suffix: str, *, required: bool) -> int | None:
    raw = values.get(suffix)
    name = _SPL_NAMES.get(suffix, f"spl_{suffix[2:]}")
    if raw is None:
        if required:
            raise SnpCertificateError(f"the certificate lacks the {name} extension ({AMD_ARC}{suffix})")
        return None
    value = read_integer(raw, name)
    if not 0 <= value <= 255:
        raise SnpCertificateError(f"{name} is {value}, outside 0-255")
    return value


def _hw_id(raw: bytes | None) -> bytes | None:
    # Real KDS certificates carry the raw bytes; accept a DER OCTET STRING as well.
    if raw is None:
        return None
    if len(raw) in (8, 64):
        return raw
    tag, value, end = read_tlv(raw)
    if tag != TAG_OCTET_STRING or end != len(raw) or len(value) not in (8, 64):
        raise SnpCertificateError(
            f"hwID extension has {len(raw)} bytes; expected 64 raw bytes (8 on Turin) or a DER OCTET STRING")
    return value


def parse_vek_extension_values(values: Mapping[str, bytes]) -> VekExtensions:
    """Parse from a map OID-suffix (e.g. "3.8") -> raw extnValue bytes."""
    struct_raw = values.get("1")
    name_raw = values.get("2")
    hw_id = _hw_id(values.get("4"))
    csp_raw = values.get("5")
    if hw_id is not None and csp_raw is not None:
        raise SnpCertificateError("the certificate carries both hwID and cspID, which is invalid")
    reserved = tuple(v for v in (_spl(values, f"3.{i}", required=False) for i in (4, 5, 6, 7))
                     if v is not None)
    return VekExtensions(
        struct_version=read_integer(struct_raw, "structVersion") if struct_raw is not None else None,
        product_name=read_ia5(name_raw, "productName") if name_raw is not None else None,
        bl_spl=_spl(values, "3.1", required=True) or 0,
        tee_spl=_spl(values, "3.2", required=True) or 0,
        snp_spl=_spl(values, "3.3", required=True) or 0,
        ucode_spl=_spl(values, "3.8", required=True) or 0,
        fmc_spl=_spl(values, "3.9", required=False),
        hw_id=hw_id,
        csp_id=read_ia5(csp_raw, "cspID") if csp_raw is not None else None,
        reserved_spls=reserved,
    )


def amd_extension_values(cert: x509.Certificate) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        extensions = cert.extensions
    except ValueError as exc:
        raise SnpCertificateError(f"the certificate's extensions cannot be read: {exc}") from exc
    for ext in extensions:
        dotted = ext.oid.dotted_string
        if dotted.startswith(AMD_ARC) and isinstance(ext.value, x509.UnrecognizedExtension):
            out[dotted[len(AMD_ARC):]] = ext.value.value
    return out


@lru_cache(maxsize=256)
def parse_vek_extensions(cert: x509.Certificate) -> VekExtensions:
    """The AMD extensions of a VCEK or VLEK. Raises ``SnpCertificateError`` when malformed."""
    return parse_vek_extension_values(amd_extension_values(cert))
