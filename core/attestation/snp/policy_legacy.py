"""Import go-sev-guest ``check.Config`` JSON and legacy Cocos policy files (§6.1, §6.3).

protobuf-JSON mapping: snake_case or camelCase keys, bytes as base64, 64-bit integers as numbers
or strings, ``null`` meaning "not set". The legacy Cocos file adds a top-level ``pcr_values``
(vTPM reference PCRs), kept on the policy as ``reference_pcrs``. Every field is type-checked and
unknown keys are rejected, as protobuf's JSON parser does; a bad file raises ``PolicyError``
naming the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from typing import Any

from core.attestation.snp.bits import GuestPolicy
from core.attestation.snp.policy import SnpPolicy, TcbMinimum
from core.attestation.snp.policy_json import PolicyError, decode_pcr_values, decode_version
from core.attestation.snp.tcb import Product, TcbVersion

_PRODUCT_ENUM = {1: Product.MILAN, 2: Product.GENOA, 3: Product.TURIN}
_PRODUCT_ENUM_NAMES = {"SEV_PRODUCT_MILAN": Product.MILAN, "SEV_PRODUCT_GENOA": Product.GENOA,
                       "SEV_PRODUCT_TURIN": Product.TURIN}
_POLICY_KEYS = {
    "minimum_guest_svn", "policy", "family_id", "image_id", "vmpl", "minimum_tcb", "minimum_launch_tcb",
    "platform_info", "require_author_key", "report_data", "measurement", "host_data", "report_id",
    "report_id_ma", "chip_id", "minimum_build", "minimum_version", "permit_provisional_firmware",
    "require_id_block", "trusted_author_keys", "trusted_author_key_hashes", "trusted_id_keys",
    "trusted_id_key_hashes", "product",
}
_ROOT_KEYS = {"product", "cabundle_paths", "cabundles", "check_crl", "disallow_network", "product_line"}
_SEV_PRODUCT_KEYS = {"name", "stepping", "machine_stepping"}
_TOP_KEYS = {"root_of_trust", "policy", "pcr_values"}
_DIGITS = re.compile(r"[0-9]+")


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _normalise(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """An object's keys in snake_case, ``null`` values dropped (protobuf: not set)."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise PolicyError(f"'{where}' in the legacy policy must be a JSON object, not {_kind(obj)}")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = _snake(key)
        if name in out:
            raise PolicyError(f"'{where}.{name}' is given twice in the legacy policy")
        out[name] = value
    unknown = sorted(set(out) - allowed)
    if unknown:
        raise PolicyError(f"the legacy policy has unknown keys {unknown} in '{where}'")
    return {k: v for k, v in out.items() if v is not None}


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _uint(value: Any, name: str, bits: int = 64) -> int:
    """A protobuf-JSON unsigned integer: a whole number or a decimal string, in range."""
    if isinstance(value, bool):
        raise PolicyError(f"'{name}' must be an integer, not {value!r}")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        raise PolicyError(f"'{name}' must be an integer (a number or a decimal string), got {value!r}")
    if not 0 <= value < 1 << bits:
        raise PolicyError(f"'{name}' is out of range: {value} (0 to {(1 << bits) - 1})")
    return value


def _bool(fields: dict[str, Any], key: str, where: str = "") -> bool:
    value = fields.get(key, False)
    if not isinstance(value, bool):
        raise PolicyError(f"'{where}{key}' must be true or false, not {value!r}")
    return value


def _b64(value: Any, name: str, size: int | None = None) -> bytes:
    """protobuf-JSON bytes: standard or URL-safe base64, padding optional."""
    if not isinstance(value, str):
        raise PolicyError(f"'{name}' must be a base64 string, not {_kind(value)}")
    text = value.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PolicyError(f"'{name}' must be base64: {exc}") from exc
    if size is not None and len(raw) != size:
        raise PolicyError(f"'{name}' must decode to {size} bytes, got {len(raw)}")
    return raw


def _b64_list(fields: dict[str, Any], key: str, size: int | None = None) -> list[bytes]:
    values = fields.get(key, [])
    if not isinstance(values, list):
        raise PolicyError(f"'{key}' must be a list of base64 strings, not {_kind(values)}")
    return [_b64(v, f"{key}[{i}]", size) for i, v in enumerate(values)]


def _string(fields: dict[str, Any], key: str, where: str) -> str:
    value = fields.get(key, "")
    if not isinstance(value, str):
        raise PolicyError(f"'{where}.{key}' must be a string, not {_kind(value)}")
    return value


def _product(policy: dict[str, Any], root: dict[str, Any]) -> Product | None:
    sev_product = _normalise(policy.get("product"), _SEV_PRODUCT_KEYS, "policy.product")
    for key in ("stepping", "machine_stepping"):
        if key in sev_product:
            _uint(sev_product[key], f"policy.product.{key}", 32)
    name = sev_product.get("name")
    if isinstance(name, str) and not _DIGITS.fullmatch(name):
        if name in _PRODUCT_ENUM_NAMES:
            return _PRODUCT_ENUM_NAMES[name]
        if name != "SEV_PRODUCT_UNKNOWN":
            return Product.from_name(name) or _raise(f"unknown product {name!r} in 'policy.product.name'")
    elif name is not None:
        number = _uint(name, "policy.product.name", 32)
        if number:
            return _PRODUCT_ENUM.get(number) or _raise(f"unknown product number {number} in "
                                                       "'policy.product.name' (1 Milan, 2 Genoa, 3 Turin)")
    for key in ("product_line", "product"):
        text = _string(root, key, "root_of_trust")
        if text:
            return Product.from_name(text) or _raise(f"unknown product {text!r} in 'root_of_trust.{key}'")
    return None


def _raise(message: str) -> Any:
    raise PolicyError(message)


def _check_root(root: dict[str, Any]) -> bool:
    """Type-check the root_of_trust fields; returns check_crl (the only one a verdict uses)."""
    for key in ("cabundle_paths", "cabundles"):
        values = root.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise PolicyError(f"'root_of_trust.{key}' must be a list of strings")
    _bool(root, "disallow_network", "root_of_trust.")
    return _bool(root, "check_crl", "root_of_trust.")


def _tcb(fields: dict[str, Any], key: str, product: Product | None) -> TcbMinimum | None:
    if key not in fields:
        return None
    return TcbMinimum.of(TcbVersion.decode(_uint(fields[key], key), product))


def _opt_uint(fields: dict[str, Any], key: str, bits: int) -> int | None:
    return _uint(fields[key], key, bits) if key in fields else None


def _opt_bytes(fields: dict[str, Any], key: str, size: int) -> bytes | None:
    # protobuf writes an unset bytes field as "" (or leaves it out)
    return _b64(fields[key], key, size) if fields.get(key, "") != "" else None


def _key_digests(p: dict[str, Any], kind: str) -> tuple[bytes, ...]:
    digests = _b64_list(p, f"trusted_{kind}_key_hashes", 48)
    digests += [hashlib.sha384(key).digest() for key in _b64_list(p, f"trusted_{kind}_keys")]
    return tuple(digests)


def _vmpl(p: dict[str, Any]) -> int | None:
    vmpl = _opt_uint(p, "vmpl", 32)
    if vmpl is not None and vmpl > 3:
        raise PolicyError(f"'vmpl' must be 0 to 3 (SNP has four privilege levels), got {vmpl}")
    return vmpl


def policy_from_legacy_json(data: bytes | str) -> SnpPolicy:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"the legacy policy is not valid JSON: {exc}") from exc
    top = _normalise(doc, _TOP_KEYS, "top level")
    p = _normalise(top.get("policy"), _POLICY_KEYS, "policy")
    root = _normalise(top.get("root_of_trust"), _ROOT_KEYS, "root_of_trust")
    require_crl = _check_root(root)
    product = _product(p, root)
    guest = GuestPolicy.decode(_uint(p.get("policy", 0x30000), "policy"))
    id_keys, author_keys = _key_digests(p, "id"), _key_digests(p, "author")
    if _bool(p, "require_id_block") and not id_keys and not author_keys:
        raise PolicyError("'require_id_block' is set but no trusted ID or author keys are given")
    measurement = _opt_bytes(p, "measurement", 48)
    chip_id = _opt_bytes(p, "chip_id", 64)
    version = p.get("minimum_version", "")
    return SnpPolicy(
        measurements=(measurement,) if measurement else (),
        report_data=_opt_bytes(p, "report_data", 64), host_data=_opt_bytes(p, "host_data", 32),
        family_id=_opt_bytes(p, "family_id", 16), image_id=_opt_bytes(p, "image_id", 16),
        report_id=_opt_bytes(p, "report_id", 32), report_id_ma=_opt_bytes(p, "report_id_ma", 32),
        minimum_tcb=_tcb(p, "minimum_tcb", product),
        minimum_launch_tcb=_tcb(p, "minimum_launch_tcb", product),
        minimum_build=_opt_uint(p, "minimum_build", 32),
        minimum_version=decode_version(version, "minimum_version") if version != "" else None,
        permit_provisional_firmware=_bool(p, "permit_provisional_firmware"),
        minimum_guest_svn=_opt_uint(p, "minimum_guest_svn", 32),
        minimum_abi=(guest.abi_major, guest.abi_minor),
        vmpl=_vmpl(p),
        debug_allowed=guest.debug_allowed, smt_allowed=guest.smt_allowed,
        migration_agent_allowed=guest.migrate_ma_allowed,
        platform_info=_opt_uint(p, "platform_info", 64),
        allowed_chip_ids=(chip_id,) if chip_id else (),
        trusted_id_key_digests=id_keys,
        require_author_key=_bool(p, "require_author_key"),
        trusted_author_key_digests=author_keys,
        product=product,
        require_crl=require_crl,
        reference_pcrs=decode_pcr_values(top.get("pcr_values", {}), "pcr_values"),
    )
