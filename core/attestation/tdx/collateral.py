"""Intel PCS collateral for TDX: signed TCB Info, signed QE Identity, issuer chains and CRLs.

The signature over TCB Info / QE Identity covers the exact bytes of the inner object *as served*
(§3.6), so we locate that value's span in the document and keep those bytes; re-serialising
parsed JSON would change whitespace or key order and break the signature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from cryptography import x509

from core.attestation import x509load
from .errors import TdxEvidenceError
from .pck import load_pem_chain
from .tcb_info import (
    QE_IDENTITY_WHAT,
    TCB_INFO_WHAT,
    QeIdentity,
    TcbInfo,
    parse_qe_identity_object,
    parse_tcb_info_object,
)

MAX_DOCUMENT_SIZE = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class SignedTcbInfo:
    tcb_info: TcbInfo
    body: bytes        # exact served bytes of the "tcbInfo" value: what the signature covers
    signature: bytes   # raw r||s (64 bytes, big-endian)


@dataclass(frozen=True, slots=True)
class SignedQeIdentity:
    qe_identity: QeIdentity
    body: bytes        # exact served bytes of the "enclaveIdentity" value
    signature: bytes


def _doc_error(what: str, problem: str) -> TdxEvidenceError:
    return TdxEvidenceError(
        f"the {what} document is not valid JSON ({problem}); fetch it again from Intel PCS or a PCCS",
        code="tdx-bad-collateral",
    )


def split_signed_document(data: bytes, what: str) -> dict[str, tuple[Any, bytes]]:
    """Top-level members of a JSON object as ``{key: (value, exact value bytes)}``."""
    if len(data) > MAX_DOCUMENT_SIZE:
        raise _doc_error(what, f"{len(data)} bytes exceeds {MAX_DOCUMENT_SIZE}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _doc_error(what, f"not UTF-8 at byte {exc.start}") from None
    decoder = json.JSONDecoder()
    members: dict[str, tuple[Any, bytes]] = {}
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "{":
        raise _doc_error(what, "it is not an object")
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    try:
        while text[pos : pos + 1] != "}":
            key, pos = decoder.raw_decode(text, pos)
            if not isinstance(key, str) or key in members:
                raise _doc_error(what, f"bad or repeated key {key!r}")
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] != ":":
                raise _doc_error(what, f"expected ':' at offset {pos}")
            start = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            value, pos = decoder.raw_decode(text, start)
            members[key] = (value, text[start:pos].encode("utf-8"))
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == ",":
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            elif text[pos : pos + 1] != "}":
                raise _doc_error(what, f"expected ',' or '}}' at offset {pos}")
    except json.JSONDecodeError as exc:
        raise _doc_error(what, exc.msg + f" at offset {exc.pos}") from None
    except RecursionError:
        raise _doc_error(what, "nested too deeply") from None
    if text[pos + 1 :].strip(" \t\n\r"):
        raise _doc_error(what, "extra data after the object")
    return members


def _signed_parts(data: bytes, body_key: str, what: str) -> tuple[Any, bytes, bytes]:
    members = split_signed_document(data, what)
    if body_key not in members or "signature" not in members:
        raise _doc_error(what, f"it needs both '{body_key}' and 'signature'")
    signature = members["signature"][0]
    try:
        raw = bytes.fromhex(signature) if isinstance(signature, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 64:
        raise TdxEvidenceError(
            f"the {what} signature must be 128 hex digits (r||s), got {str(signature)[:40]!r}",
            code="tdx-bad-collateral",
        )
    value, body = members[body_key]
    return value, body, raw


def parse_tcb_info(data: bytes) -> SignedTcbInfo:
    """A served TDX TCB Info document ``{"tcbInfo": {...}, "signature": "..."}``."""
    value, body, signature = _signed_parts(data, "tcbInfo", TCB_INFO_WHAT)
    return SignedTcbInfo(parse_tcb_info_object(value), body, signature)


def parse_qe_identity(data: bytes) -> SignedQeIdentity:
    """A served TD QE Identity document ``{"enclaveIdentity": {...}, "signature": "..."}``."""
    value, body, signature = _signed_parts(data, "enclaveIdentity", QE_IDENTITY_WHAT)
    return SignedQeIdentity(parse_qe_identity_object(value), body, signature)


def parse_crl(data: bytes, what: str) -> x509.CertificateRevocationList:
    """A CRL in DER (as PCS serves with encoding=der) or PEM."""
    try:
        return x509load.load_crl(data)
    except ValueError as exc:
        raise TdxEvidenceError(
            f"the {what} is not a valid CRL ({exc}); download it again", code="tdx-bad-crl"
        ) from None


@dataclass(frozen=True, slots=True)
class TdxCollateral:
    """Everything besides the quote needed to verify it; any part may be missing."""

    tcb_info: SignedTcbInfo | None = None
    qe_identity: SignedQeIdentity | None = None
    tcb_info_issuer_chain: tuple[x509.Certificate, ...] = ()
    qe_identity_issuer_chain: tuple[x509.Certificate, ...] = ()
    pck_crl: x509.CertificateRevocationList | None = None
    pck_crl_issuer_chain: tuple[x509.Certificate, ...] = ()
    root_crl: x509.CertificateRevocationList | None = None

    def merged_with(self, fallback: TdxCollateral) -> TdxCollateral:
        """This collateral with every missing part taken from ``fallback``."""
        missing = {
            f.name: getattr(fallback, f.name)
            for f in fields(self)
            if getattr(self, f.name) in (None, ())
        }
        return replace(self, **missing)


# file names as laid out by the collateral cache (and the shared test corpus)
TCB_INFO_FILE = "tcbInfo.json"
QE_IDENTITY_FILE = "qeIdentity.json"
QE_IDENTITY_FILE_ALT = "qeIdentity-TD_QE.json"
TCB_INFO_CHAIN_FILE = "tcbInfo_issuer_chain.pem"
QE_IDENTITY_CHAIN_FILE = "qeIdentity_issuer_chain.pem"
PCK_CRL_CHAIN_FILE = "pckcrl_issuer_chain.pem"
PCK_CRL_FILE = "pck_crl.der"
ROOT_CRL_FILE = "root_crl.der"


def tcb_info_file_for(fmspc: bytes | str) -> str:
    text = fmspc.hex() if isinstance(fmspc, bytes) else fmspc
    return f"tcbInfo-tdx-{text.lower()}.json"


def _first(directory: Path, *names: str) -> bytes | None:
    for name in names:
        path = directory / name
        if path.is_file():
            return path.read_bytes()
    return None


def load_collateral_dir(directory: str | Path, *, fmspc: bytes | str | None = None) -> TdxCollateral:
    """Load whatever collateral a directory holds (missing files leave parts empty).

    The TCB Info is ``tcbInfo.json``, or ``tcbInfo-tdx-<fmspc>.json`` when ``fmspc`` is given.
    """
    d = Path(directory)
    if not d.is_dir():
        raise TdxEvidenceError(f"collateral folder {d} does not exist", code="tdx-no-collateral")
    tcb_names = [TCB_INFO_FILE] + ([tcb_info_file_for(fmspc)] if fmspc is not None else [])
    tcb = _first(d, *tcb_names)
    qe = _first(d, QE_IDENTITY_FILE, QE_IDENTITY_FILE_ALT)
    chains = {
        name: load_pem_chain(raw, name) if (raw := _first(d, name)) else ()
        for name in (TCB_INFO_CHAIN_FILE, QE_IDENTITY_CHAIN_FILE, PCK_CRL_CHAIN_FILE)
    }
    pck_crl, root_crl = _first(d, PCK_CRL_FILE), _first(d, ROOT_CRL_FILE)
    return TdxCollateral(
        tcb_info=parse_tcb_info(tcb) if tcb is not None else None,
        qe_identity=parse_qe_identity(qe) if qe is not None else None,
        tcb_info_issuer_chain=chains[TCB_INFO_CHAIN_FILE],
        qe_identity_issuer_chain=chains[QE_IDENTITY_CHAIN_FILE],
        pck_crl=parse_crl(pck_crl, "PCK CRL") if pck_crl is not None else None,
        pck_crl_issuer_chain=chains[PCK_CRL_CHAIN_FILE],
        root_crl=parse_crl(root_crl, "Intel SGX Root CA CRL") if root_crl is not None else None,
    )


def load_issuer_chain(path: str | Path, what: str) -> tuple[x509.Certificate, ...]:
    return load_pem_chain(Path(path).read_bytes(), what)
