"""PEM armour (RFC 7468), parsed and written by hand.

cocos-cli writes PKCS#1 DER under the label ``PRIVATE KEY``, which ``cryptography``'s PEM
loader refuses, so the armour is read here and the DER handed to the DER loader.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from core.errors import UnknownKeyFormat

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_END = b"-----END %s-----"
_LINE = 64


@dataclass(frozen=True, slots=True)
class PemBlock:
    """One ``-----BEGIN label----- ... -----END label-----`` block."""

    label: str
    headers: tuple[tuple[str, str], ...]  # RFC 1421 headers, e.g. ("Proc-Type", "4,ENCRYPTED")
    der: bytes
    text: bytes  # the whole block as it appeared, for loaders that need the armour


def looks_like_pem(data: bytes) -> bool:
    return _BEGIN.search(data) is not None


def parse_blocks(data: bytes) -> list[PemBlock]:
    """Every PEM block in ``data``, in order; text between blocks is ignored."""
    blocks: list[PemBlock] = []
    pos = 0
    while (begin := _BEGIN.search(data, pos)) is not None:
        label = begin.group(1)
        end_marker = _END % label
        end = data.find(end_marker, begin.end())
        if end < 0:
            raise UnknownKeyFormat(
                f"the PEM block '{label.decode()}' has no END line; the file is truncated or damaged"
            )
        headers, der = _decode_body(label.decode(), data[begin.end():end])
        blocks.append(PemBlock(label.decode(), headers, der, data[begin.start():end + len(end_marker)]))
        pos = end + len(end_marker)
    return blocks


def _decode_body(label: str, body: bytes) -> tuple[tuple[tuple[str, str], ...], bytes]:
    lines = [line.strip() for line in body.splitlines()]
    headers: list[tuple[str, str]] = []
    # RFC 1421 headers ("Name: value") come first and end at a blank line.
    if any(b":" in line for line in lines):
        while lines and not lines[0]:
            lines.pop(0)
        while lines and b":" in lines[0]:
            name, _, value = lines.pop(0).partition(b":")
            headers.append((_ascii(label, name).strip(), _ascii(label, value).strip()))
    payload = b"".join(lines)
    try:
        der = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise UnknownKeyFormat(
            f"the PEM block '{label}' does not hold valid base64; the file is damaged"
        ) from None
    if not der:
        raise UnknownKeyFormat(f"the PEM block '{label}' is empty")
    return tuple(headers), der


def _ascii(label: str, raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise UnknownKeyFormat(f"the PEM block '{label}' has a non-ASCII header line") from None


def armour(label: str, der: bytes) -> bytes:
    """``der`` as a PEM block with 64-character lines, the layout Go's ``pem.Encode`` writes."""
    body = base64.b64encode(der)
    lines = [body[i:i + _LINE] for i in range(0, len(body), _LINE)]
    return b"".join(
        [f"-----BEGIN {label}-----\n".encode(), *(line + b"\n" for line in lines),
         f"-----END {label}-----\n".encode()]
    )
