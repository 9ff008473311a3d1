"""Import go-sev-guest ``check.Config`` JSON and legacy Cocos policy files (§6.1, §6.3).

protobuf-JSON mapping: snake_case or camelCase keys, bytes as standard base64, 64-bit integers
as numbers or strings. The legacy Cocos file adds a top-level ``pcr_values`` (vTPM; not part of
the SNP policy and ignored here). Unknown keys are rejected, as protobuf's JSON parser does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from core.attestation.snp.bits import GuestPolicy
from core.attestation.snp.policy import SnpPolicy, TcbMinimum
from core.attestation.snp.policy_json import PolicyError, decode_version
from core.attestation.snp.tcb import Product, TcbVersion

_PRODUCT_ENUM = {1: Product.MILAN, 2: Product.GENOA, 3: Product.TURIN}
_POLICY_KEYS = {
    "minimum_guest_svn", "policy", "family_id", "image_id", "vmpl", "minimum_tcb", "minimum_launch_tcb",
    "platform_info", "require_author_key", "report_data", "measurement", "host_data", "report_id",
    "report_id_ma", "chip_id", "minimum_build", "minimum_version", "permit_provisional_firmware",
    "require_id_block", "trusted_author_keys", "trusted_author_key_hashes", "trusted_id_keys",
    "trusted_id_key_hashes", "product",
}
_ROOT_KEYS = {"product", "cabundle_paths", "cabundles", "check_crl", "disallow_network", "product_line"}
_TOP_KEYS = {"root_of_trust", "policy", "pcr_values"}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _normalise(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise PolicyError(f"'{where}' must be a JSON object")
    out = {_snake(k): v for k, v in obj.items()}
    unknown = sorted(set(out) - allowed)
    if unknown:
        raise PolicyError(f"the legacy policy has unknown keys {unknown} in '{where}'")
    return out


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise PolicyError(f"'{name}' must be an integer, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"'{name}' must be an integer, got {value!r}") from exc
    if number < 0 or number >= 1 << 64:
        raise PolicyError(f"'{name}' is out of range: {number}")
    return number


def _b64(value: Any, name: str, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError) as exc:
        raise PolicyError(f"'{name}' must be standard base64: {exc}") from exc
    if raw is None:
        raise PolicyError(f"'{name}' must be a base64 string")
    if size is not None and len(raw) != size:
        raise PolicyError(f"'{name}' must decode to {size} bytes, got {len(raw)}")
    return raw


def _product(policy: dict[str, Any], root: dict[str, Any]) -> Product | None:
    if isinstance(policy.get("product"), dict):
        name = policy["product"].get("name")
        if isinstance(name, str):
            return Product.from_name(name) or _raise(f"unknown product {name!r}")
        if name is not None:
            return _PRODUCT_ENUM.get(_int(name, "product.name")) or _raise(f"unknown product number {name!r}")
    for key in ("product_line", "product"):
        if root.get(key):
            return Product.from_name(str(root[key])) or _raise(f"unknown product {root[key]!r}")
    return None


def _raise(message: str) -> Any:
    raise PolicyError(message)


def _tcb(value: Any, name: str, product: Product | None) -> TcbMinimum | None:
    return None if value is None else TcbMinimum.of(TcbVersion.decode(_int(value, name), product))


def policy_from_legacy_json(data: bytes) -> SnpPolicy:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolicyError(f"the legacy policy is not valid JSON: {exc}") from exc
    top = _normalise(doc, _TOP_KEYS, "top level")
    p = _normalise(top.get("policy"), _POLICY_KEYS, "policy")
    root = _normalise(top.get("root_of_trust"), _ROOT_KEYS, "root_of_trust")
    product = _product(p, root)
    guest = GuestPolicy.decode(_int(p.get("policy", 0x30000), "policy"))
    hashes = [_b64(v, "trusted_id_key_hashes", 48) for v in p.get("trusted_id_key_hashes") or []]
    hashes += [hashlib.sha384(_b64(v, "trusted_id_keys")).digest() for v in p.get("trusted_id_keys") or []]
    authors = [_b64(v, "trusted_author_key_hashes", 48) for v in p.get("trusted_author_key_hashes") or []]
    authors += [hashlib.sha384(_b64(v, "trusted_author_keys")).digest()
                for v in p.get("trusted_author_keys") or []]
    if p.get("require_id_block") and not hashes and not authors:
        raise PolicyError("'require_id_block' is set but no trusted ID or author keys are given")

    def opt_bytes(key: str, size: int) -> bytes | None:
        return _b64(p[key], key, size) if p.get(key) else None

    measurement = opt_bytes("measurement", 48)
    chip_id = opt_bytes("chip_id", 64)
    return SnpPolicy(
        measurements=(measurement,) if measurement else (),
        report_data=opt_bytes("report_data", 64), host_data=opt_bytes("host_data", 32),
        family_id=opt_bytes("family_id", 16), image_id=opt_bytes("image_id", 16),
        report_id=opt_bytes("report_id", 32), report_id_ma=opt_bytes("report_id_ma", 32),
        minimum_tcb=_tcb(p.get("minimum_tcb"), "minimum_tcb", product),
        minimum_launch_tcb=_tcb(p.get("minimum_launch_tcb"), "minimum_launch_tcb", product),
        minimum_build=_int(p["minimum_build"], "minimum_build") if "minimum_build" in p else None,
        minimum_version=decode_version(p["minimum_version"], "minimum_version")
        if p.get("minimum_version") else None,
        permit_provisional_firmware=bool(p.get("permit_provisional_firmware", False)),
        minimum_guest_svn=_int(p["minimum_guest_svn"], "minimum_guest_svn") if "minimum_guest_svn" in p else None,
        minimum_abi=(guest.abi_major, guest.abi_minor),
        vmpl=_int(p["vmpl"], "vmpl") if p.get("vmpl") is not None else None,
        debug_allowed=guest.debug_allowed, smt_allowed=guest.smt_allowed,
        migration_agent_allowed=guest.migrate_ma_allowed,
        platform_info=_int(p["platform_info"], "platform_info") if p.get("platform_info") is not None else None,
        allowed_chip_ids=(chip_id,) if chip_id else (),
        trusted_id_key_digests=tuple(hashes),
        require_author_key=bool(p.get("require_author_key", False)),
        trusted_author_key_digests=tuple(authors),
        product=product,
        require_crl=bool(root.get("check_crl", False)),
    )
