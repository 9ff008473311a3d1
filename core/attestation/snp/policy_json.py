"""Our own JSON form of ``SnpPolicy``: versioned, hex for bytes, unknown keys rejected.

    {"format": "prism-snp-policy", "version": 1, "measurements": ["<hex>"], "vmpl": 2, ...,
     "reference_pcrs": {"sha256": {"0": "<hex>"}}}

``reference_pcrs`` uses the shape of the legacy Cocos ``pcr_values`` and is written only when
the policy has some, so policies without PCRs stay readable by earlier version-1 readers.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from core.attestation.snp.policy import ReferencePcr, SnpPolicy, TcbMinimum
from core.attestation.snp.tcb import Product
from core.attestation.vtpm.algorithms import BANK_BY_NAME, HASHES
from core.errors import BadInput

FORMAT = "prism-snp-policy"
VERSION = 1

_BYTES = {"report_data": 64, "host_data": 32, "family_id": 16, "image_id": 16, "report_id": 32,
          "report_id_ma": 32}
_BYTES_LISTS = {"measurements": 48, "allowed_chip_ids": 64, "trusted_id_key_digests": 48,
                "trusted_author_key_digests": 48}
_TCBS = ("minimum_tcb", "minimum_launch_tcb")
_PAIRS = ("minimum_version", "minimum_abi")
_BOOLS = ("permit_provisional_firmware", "debug_allowed", "smt_allowed", "migration_agent_allowed",
          "allow_masked_chip_id", "require_author_key", "allow_vlek", "require_crl")
_INTS = ("minimum_build", "minimum_guest_svn", "vmpl", "max_vmpl", "platform_info",
         "minimum_current_mit_vector")


class PolicyError(BadInput):
    code = "snp-policy"


def policy_to_json(policy: SnpPolicy) -> bytes:
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    for f in fields(policy):
        value = getattr(policy, f.name)
        if f.name in _BYTES:
            out[f.name] = value.hex() if value is not None else None
        elif f.name in _BYTES_LISTS:
            out[f.name] = [v.hex() for v in value]
        elif f.name in _TCBS:
            out[f.name] = dict(value.items()) if value is not None else None
        elif f.name in _PAIRS:
            out[f.name] = f"{value[0]}.{value[1]}" if value is not None else None
        elif f.name == "product":
            out[f.name] = value.value if value is not None else None
        elif f.name == "reference_pcrs":
            if value:
                out[f.name] = encode_pcr_values(value)
        else:
            out[f.name] = value
    return json.dumps(out, indent=2, sort_keys=False).encode()


def policy_from_json(data: bytes | str) -> SnpPolicy:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"the SNP policy is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PolicyError(f"this is not a Prism SNP policy (expected \"format\": \"{FORMAT}\")")
    if type(doc.get("version")) is not int or doc.get("version") != VERSION:
        raise PolicyError(f"SNP policy version {doc.get('version')!r} is not supported; this app reads "
                          f"version {VERSION}")
    known = {f.name for f in fields(SnpPolicy)}
    unknown = sorted(set(doc) - known - {"format", "version"})
    if unknown:
        raise PolicyError(f"the SNP policy has unknown keys {unknown}; remove them or update the app")
    kwargs = {name: _decode(name, value) for name, value in doc.items() if name in known}
    return SnpPolicy(**kwargs)


def _decode(name: str, value: Any) -> Any:
    if name in _BYTES:
        return None if value is None else decode_hex(value, name, _BYTES[name])
    if name in _BYTES_LISTS:
        if not isinstance(value, list):
            raise PolicyError(f"'{name}' must be a list of hex strings")
        return tuple(decode_hex(v, name, _BYTES_LISTS[name]) for v in value)
    if name in _TCBS:
        return None if value is None else decode_tcb(value, name)
    if name in _PAIRS:
        return None if value is None else decode_version(value, name)
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise PolicyError(f"'{name}' must be true or false, not {value!r}")
        return value
    if name in _INTS:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise PolicyError(f"'{name}' must be a non-negative integer, not {value!r}")
        return value
    if name == "product":
        return None if value is None else decode_product(value)
    if name == "reference_pcrs":
        return decode_pcr_values(value, name)
    raise PolicyError(f"'{name}' is not a policy field")  # pragma: no cover - guarded by caller


def decode_hex(value: Any, name: str, size: int) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"'{name}' must be hex, got {value!r}") from exc
    if len(raw) != size:
        raise PolicyError(f"'{name}' must be {size} bytes, got {len(raw)}")
    return raw


def decode_tcb(value: Any, name: str) -> TcbMinimum:
    allowed = {"bootloader", "tee", "snp", "microcode", "fmc"}
    if not isinstance(value, dict) or set(value) - allowed:
        raise PolicyError(f"'{name}' must map components {sorted(allowed)} to levels 0-255")
    for k, v in value.items():
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 255:
            raise PolicyError(f"'{name}.{k}' must be an integer 0-255, got {v!r}")
    return TcbMinimum(**value)


def decode_version(value: Any, name: str) -> tuple[int, int]:
    parts = str(value).split(".") if isinstance(value, str) else []
    if len(parts) != 2 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise PolicyError(f"'{name}' must look like \"1.55\" (major.minor, each 0-255), got {value!r}")
    return int(parts[0]), int(parts[1])


def decode_product(value: Any) -> Product:
    product = Product.from_name(value) if isinstance(value, str) else None
    if product is None:
        raise PolicyError(f"unknown product {value!r}; use Milan, Genoa or Turin")
    return product


def encode_pcr_values(pcrs: tuple[ReferencePcr, ...]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pcr in pcrs:
        out.setdefault(HASHES[pcr.bank][0], {})[str(pcr.index)] = pcr.value.hex()
    return out


def decode_pcr_values(value: Any, name: str) -> tuple[ReferencePcr, ...]:
    """{"sha256": {"0": "<hex>", ...}, ...} (the legacy Cocos ``pcr_values``) to sorted ReferencePcrs."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise PolicyError(f"'{name}' must map bank names ({', '.join(BANK_BY_NAME)}) to "
                          "{PCR index: hex digest} objects")
    out = []
    for bank_name, values in value.items():
        bank = BANK_BY_NAME.get(bank_name.lower())
        if bank is None:
            raise PolicyError(f"'{name}' names an unknown PCR bank {bank_name!r}; use "
                              f"{', '.join(BANK_BY_NAME)}")
        if not isinstance(values, dict):
            raise PolicyError(f"'{name}.{bank_name}' must map PCR indexes (\"0\" to \"23\") to hex digests")
        for index, digest in values.items():
            if not (index.isascii() and index.isdigit() and int(index) <= 23):
                raise PolicyError(f"'{name}.{bank_name}' has PCR index {index!r}; indexes are \"0\" to \"23\"")
            if any(p.bank == bank and p.index == int(index) for p in out):
                raise PolicyError(f"'{name}' gives {bank_name} PCR {int(index)} twice")
            out.append(ReferencePcr(bank, int(index),
                                    decode_hex(digest, f"{name}.{bank_name}.{index}", HASHES[bank][1])))
    return tuple(sorted(out, key=lambda pcr: (pcr.bank, pcr.index)))
