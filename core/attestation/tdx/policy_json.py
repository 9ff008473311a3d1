"""TdxPolicy <-> JSON (version 1): hex for bytes, ISO dates for waivers, unknown keys rejected.

    {"format": "prism-tdx-policy", "version": 1, "mr_td": "<hex>", "rtmrs": [...], ...}

The ``format`` tag is written always and checked when present; files written before it existed
(no tag) are still read.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from .errors import TdxPolicyError
from .tcb import NO_MATCHING_TCB_LEVEL
from .tcb_info import TCB_STATUSES

if TYPE_CHECKING:
    from .policy import AdvisoryWaiver, TdxPolicy

FORMAT = "prism-tdx-policy"
POLICY_VERSION = 1
_BYTES = {
    "mr_td": 48, "mr_seam": 48, "mr_config_id": 48, "mr_owner": 48, "mr_owner_config": 48,
    "report_data": 64, "td_attributes": 8, "xfam": 8, "minimum_tee_tcb_svn": 16, "qe_vendor_id": 16,
}
_INTS = ("minimum_qe_svn", "minimum_pce_svn", "minimum_tcb_eval_number")
_KEYS = {"format", "version", "any_mr_td", "rtmrs", "allow_debug", "accepted_tcb_statuses",
         "advisory_waivers", "crl_policy", *_BYTES, *_INTS}


def _err(message: str) -> TdxPolicyError:
    return TdxPolicyError(f"the TDX policy is invalid: {message}; fix the policy file")


def _hex(value: Any, size: int, key: str) -> bytes:
    if not isinstance(value, str):
        raise _err(f"{key} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise _err(f"{key} is not hexadecimal") from None
    if len(raw) != size:
        raise _err(f"{key} must be {size} bytes, got {len(raw)}")
    return raw


def policy_to_json(policy: TdxPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "version": POLICY_VERSION}
    for key in _BYTES:
        value = getattr(policy, key)
        if value is not None:
            out[key] = value.hex() if isinstance(value, bytes) else value
    for key in _INTS:
        if getattr(policy, key) is not None:
            out[key] = getattr(policy, key)
    if policy.any_mr_td:
        out["any_mr_td"] = [m.hex() for m in policy.any_mr_td]
    out["rtmrs"] = [r.hex() if isinstance(r, bytes) else r for r in policy.rtmrs]
    out["allow_debug"] = policy.allow_debug
    out["accepted_tcb_statuses"] = list(policy.accepted_tcb_statuses)
    out["advisory_waivers"] = [
        {"advisory_id": w.advisory_id, "expires": w.expires.isoformat(), "reason": w.reason}
        for w in policy.advisory_waivers
    ]
    out["crl_policy"] = policy.crl_policy
    return out


def _waiver(item: Any, waiver_cls: type[AdvisoryWaiver]) -> AdvisoryWaiver:
    if not isinstance(item, dict) or set(item) - {"advisory_id", "expires", "reason"}:
        raise _err("each advisory waiver needs exactly advisory_id, expires and an optional reason")
    if not isinstance(item.get("advisory_id"), str) or not isinstance(item.get("expires"), str):
        raise _err("an advisory waiver needs advisory_id and expires (YYYY-MM-DD)")
    try:
        expires = date.fromisoformat(item["expires"])
    except ValueError:
        raise _err(f"waiver expiry {item['expires']!r} is not a YYYY-MM-DD date") from None
    return waiver_cls(item["advisory_id"], expires, str(item.get("reason", "")))


def _load(data: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise _err(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _err("the document must be a JSON object")
    if "format" in data and data["format"] != FORMAT:
        raise _err(f"this is not a Prism TDX policy (\"format\" is {data['format']!r}, expected {FORMAT!r})")
    unknown = set(data) - _KEYS
    if unknown:
        raise _err(f"unknown keys {sorted(unknown)}")
    if type(data.get("version")) is not int or data.get("version") != POLICY_VERSION:
        raise _err(f"version must be {POLICY_VERSION}, got {data.get('version')!r}")
    return data


def policy_from_json(data: dict[str, Any] | str | bytes, policy_cls: type[TdxPolicy],
                     waiver_cls: type[AdvisoryWaiver]) -> TdxPolicy:
    return policy_cls(**policy_kwargs(data, waiver_cls))


def policy_kwargs(data: dict[str, Any] | str | bytes, waiver_cls: type[AdvisoryWaiver]) -> dict[str, Any]:
    """The checked constructor arguments of a policy document. Raises TdxPolicyError."""
    doc = _load(data)
    kwargs: dict[str, Any] = {k: _hex(doc[k], n, k) for k, n in _BYTES.items() if doc.get(k) is not None}
    for key in _INTS:
        value = doc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _err(f"{key} must be a non-negative integer")
        kwargs[key] = value
    rtmrs = doc.get("rtmrs", [None] * 4)
    if not isinstance(rtmrs, list) or len(rtmrs) != 4:
        raise _err("rtmrs must be a list of four entries (hex or null)")
    kwargs["rtmrs"] = tuple(None if r is None else _hex(r, 48, f"rtmrs[{i}]") for i, r in enumerate(rtmrs))
    any_mr_td = doc.get("any_mr_td", [])
    if not isinstance(any_mr_td, list):
        raise _err("any_mr_td must be a list")
    kwargs["any_mr_td"] = tuple(_hex(m, 48, "any_mr_td") for m in any_mr_td)
    if not isinstance(doc.get("allow_debug", False), bool):
        raise _err("allow_debug must be true or false")
    kwargs["allow_debug"] = doc.get("allow_debug", False)
    statuses = doc.get("accepted_tcb_statuses", ["UpToDate"])
    if not isinstance(statuses, list) or not all(s in TCB_STATUSES for s in statuses):
        raise _err(f"accepted_tcb_statuses must be a list of {', '.join(TCB_STATUSES)} "
                   f"({NO_MATCHING_TCB_LEVEL} can never be accepted)")
    kwargs["accepted_tcb_statuses"] = tuple(statuses)
    waivers = doc.get("advisory_waivers", [])
    if not isinstance(waivers, list):
        raise _err("advisory_waivers must be a list")
    kwargs["advisory_waivers"] = tuple(_waiver(w, waiver_cls) for w in waivers)
    crl = doc.get("crl_policy", "fail")
    if crl not in ("fail", "warn"):
        raise _err("crl_policy must be 'fail' or 'warn'")
    kwargs["crl_policy"] = crl
    return kwargs
