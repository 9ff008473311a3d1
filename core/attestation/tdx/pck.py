"""The PCK certificate chain inside a quote, and the SGX extension of the PCK leaf (§3.5).

The extension ``1.2.840.113741.1.13.1`` is a SEQUENCE of (OID, value) pairs; the TCB entry is
itself a SEQUENCE of pairs holding 16 component SVNs, the PCESVN and the CPUSVN.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from core.attestation import x509load
from . import der
from .crypto import memo_by_identity
from .errors import TdxEvidenceError

SGX_EXTENSION_OID = "1.2.840.113741.1.13.1"
_ARC = SGX_EXTENSION_OID + "."
MAX_CHAIN_CERTS = 8


@dataclass(frozen=True, slots=True)
class PckTcb:
    sgx_tcb_components: tuple[int, ...]   # the 16 SGX TCB component SVNs, index 0 = comp 1
    pce_svn: int
    cpu_svn: bytes


@dataclass(frozen=True, slots=True)
class PckConfiguration:
    dynamic_platform: bool | None
    cached_keys: bool | None
    smt_enabled: bool | None


@dataclass(frozen=True, slots=True)
class PckExtensions:
    ppid: bytes
    tcb: PckTcb
    pce_id: bytes
    fmspc: bytes
    sgx_type: int
    platform_instance_id: bytes | None = None
    configuration: PckConfiguration | None = None


def _pairs(value: bytes, what: str) -> dict[str, der.Tlv]:
    """A SEQUENCE OF SEQUENCE {OID, value} as {oid: value-tlv}; duplicates are malformed."""
    out: dict[str, der.Tlv] = {}
    for item in der.read_tlvs(value):
        parts = der.read_tlvs(der.expect(item, der.TAG_SEQUENCE, what))
        if len(parts) != 2:
            raise TdxEvidenceError(
                f"the PCK certificate's SGX extension has a malformed {what} entry",
                code="tdx-bad-pck-extension",
            )
        oid = der.decode_oid(der.expect(parts[0], der.TAG_OID, what))
        if oid in out:
            raise TdxEvidenceError(
                f"the PCK certificate's SGX extension repeats {oid}", code="tdx-bad-pck-extension"
            )
        out[oid] = parts[1]
    return out


def _require(pairs: dict[str, der.Tlv], oid: str, name: str) -> der.Tlv:
    if oid not in pairs:
        raise TdxEvidenceError(
            f"the PCK certificate's SGX extension lacks {name} ({oid}); it is not a valid PCK "
            "certificate", code="tdx-bad-pck-extension",
        )
    return pairs[oid]


def _octets(tlv: der.Tlv, name: str, size: int | None) -> bytes:
    value = der.expect(tlv, der.TAG_OCTET_STRING, name)
    if size is not None and len(value) != size:
        raise TdxEvidenceError(
            f"the PCK certificate's {name} is {len(value)} bytes, expected {size}",
            code="tdx-bad-pck-extension",
        )
    return value


def _parse_tcb(tlv: der.Tlv) -> PckTcb:
    pairs = _pairs(der.expect(tlv, der.TAG_SEQUENCE, "TCB"), "TCB")
    arc = _ARC + "2."
    comps = tuple(
        der.decode_unsigned(
            der.expect(_require(pairs, f"{arc}{i}", f"SGX TCB component {i}"), der.TAG_INTEGER, "SVN"),
            f"SGX TCB component {i}",
        )
        for i in range(1, 17)
    )
    pce = _require(pairs, arc + "17", "PCESVN")
    cpu = _require(pairs, arc + "18", "CPUSVN")
    return PckTcb(
        sgx_tcb_components=comps,
        pce_svn=der.decode_unsigned(der.expect(pce, der.TAG_INTEGER, "PCESVN"), "PCESVN"),
        cpu_svn=_octets(cpu, "CPUSVN", 16),
    )


def _parse_configuration(tlv: der.Tlv) -> PckConfiguration:
    pairs = _pairs(der.expect(tlv, der.TAG_SEQUENCE, "configuration"), "configuration")

    def flag(n: int, name: str) -> bool | None:
        item = pairs.get(f"{_ARC}7.{n}")
        if item is None:
            return None
        return der.decode_boolean(der.expect(item, der.TAG_BOOLEAN, name), name)

    return PckConfiguration(flag(1, "dynamicPlatform"), flag(2, "cachedKeys"), flag(3, "SMTEnabled"))


def parse_sgx_extension(value: bytes) -> PckExtensions:
    """Parse the DER value of the SGX extension. Raises TdxEvidenceError."""
    pairs = _pairs(der.read_one(value, der.TAG_SEQUENCE), "SGX extension")
    sgx_type = _require(pairs, _ARC + "5", "SGX type")
    instance = pairs.get(_ARC + "6")
    config = pairs.get(_ARC + "7")
    return PckExtensions(
        ppid=_octets(_require(pairs, _ARC + "1", "PPID"), "PPID", 16),
        tcb=_parse_tcb(_require(pairs, _ARC + "2", "TCB")),
        pce_id=_octets(_require(pairs, _ARC + "3", "PCE-ID"), "PCE-ID", 2),
        fmspc=_octets(_require(pairs, _ARC + "4", "FMSPC"), "FMSPC", 6),
        sgx_type=der.decode_unsigned(der.expect(sgx_type, der.TAG_ENUMERATED, "SGX type"), "SGX type"),
        platform_instance_id=_octets(instance, "platform instance ID", None) if instance else None,
        configuration=_parse_configuration(config) if config else None,
    )


def pck_extensions(cert: x509.Certificate) -> PckExtensions:
    """The SGX extension of a PCK certificate. Raises TdxEvidenceError when absent or malformed."""
    return memo_by_identity(cert, "sgx-ext", _pck_extensions)  # type: ignore[no-any-return]


def _pck_extensions(cert: x509.Certificate) -> PckExtensions:
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(SGX_EXTENSION_OID))
    except x509.ExtensionNotFound:
        raise TdxEvidenceError(
            "the PCK certificate has no SGX extension (1.2.840.113741.1.13.1); "
            "it is not an Intel PCK certificate", code="tdx-bad-pck-extension",
        ) from None
    except ValueError as exc:
        raise TdxEvidenceError(
            f"the PCK certificate's extensions cannot be read ({exc})", code="tdx-bad-certificate"
        ) from None
    return parse_sgx_extension(ext.value.value)  # type: ignore[attr-defined]


_chains: dict[bytes, tuple[x509.Certificate, ...]] = {}


def load_pem_chain(pem: bytes, what: str = "PCK certificate chain") -> tuple[x509.Certificate, ...]:
    """Certificates from PEM text (an optional trailing NUL is tolerated), leaf first.

    Results are memoised by the exact PEM bytes: every quote from one platform carries the same
    chain, and returning the same objects lets later per-certificate caches hit.
    """
    cached = _chains.get(pem)
    if cached is not None:
        return cached
    certs = _load_pem_chain(pem, what)
    if len(_chains) >= 64:
        _chains.clear()
    _chains[bytes(pem)] = certs
    return certs


def _load_pem_chain(pem: bytes, what: str) -> tuple[x509.Certificate, ...]:
    text = pem.rstrip(b"\x00").strip()
    if not text:
        raise TdxEvidenceError(f"the {what} is empty", code="tdx-bad-certificate")
    if text.count(b"-----BEGIN CERTIFICATE-----") > MAX_CHAIN_CERTS:
        raise TdxEvidenceError(
            f"the {what} holds more than {MAX_CHAIN_CERTS} certificates", code="tdx-bad-certificate"
        )
    try:
        certs = tuple(x509load.load_certificates(text))
    except ValueError as exc:
        raise TdxEvidenceError(
            f"the {what} is not valid PEM ({exc}); the evidence is damaged",
            code="tdx-bad-certificate",
        ) from None
    return certs
