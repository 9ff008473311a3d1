"""Verify, then (with a policy) validate: the one assessment the CLI, the GUI and the upload gate use.

``assess`` picks the platform's verifier for an ``Evidence``, feeds it the certificates and
collateral found in the evidence, given by the user, or loaded from collateral directories, packs
and the workspace cache (``load_collateral``), checks the vTPM part of SNP-vTPM evidence, and
appends the policy's checks. ``load_policy`` reads any policy the app understands (ours, the
legacy go-sev-guest/go-tdx-guest/Cocos JSON, a CoRIM) and ``verdict_to_html`` renders a
self-contained report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
from datetime import datetime, timezone
from typing import Any, Sequence

from cryptography import x509

from core.attestation.assess_vtpm import VtpmExpectations, check_vtpm_evidence
from core.attestation.collateral_inputs import CollateralInputs, load_collateral
from core.attestation.evidence import Evidence, describe, embedded_cas, embedded_leaf, hcl_binding_ok
from core.attestation.roots import TrustStore
from core.attestation.snp.certs import CertRole, classify, parse_vek_extensions
from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.snp.verify import verify_snp
from core.attestation.tdx.collateral import TdxCollateral
from core.attestation.tdx.policy import TdxPolicy, validate_tdx
from core.attestation.tdx.roots import TdxTrust
from core.attestation.tdx.verify import evaluate_quote_tcb, verify_tdx
from core.attestation.verdict import Check, Status, Verdict
from core.errors import BadInput, EvidenceError

Policy = SnpPolicy | TdxPolicy

__all__ = ["CollateralInputs", "Policy", "PolicyFormatError", "VtpmExpectations", "assess",
           "load_collateral", "load_policy", "verdict_to_html"]


class PolicyFormatError(BadInput):
    """A policy file that is none of the formats the app reads, or is for the other platform."""

    code = "bad-policy"


# --- policies ---------------------------------------------------------------------------------

def load_policy(data: bytes, platform: str = "auto") -> Policy:
    """Read our policy JSON, a legacy go-sev-guest/go-tdx-guest/Cocos JSON policy, or a CoRIM."""
    text = data.lstrip()
    if text[:1] in (b"{", b"["):
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise PolicyFormatError(f"the policy file looks like JSON but does not parse: {exc}") from None
        if not isinstance(doc, dict):
            raise PolicyFormatError("a policy file must hold a JSON object")
        return _policy_from_json(data, doc, platform)
    return _policy_from_corim(data, platform)


def _policy_from_json(data: bytes, doc: dict[str, Any], platform: str) -> Policy:
    kind = _json_policy_kind(doc)
    if kind is None:
        raise PolicyFormatError(
            "this JSON is not an attestation policy the app knows (our SNP/TDX policy, a go-sev-guest "
            "check.Config, a go-tdx-guest config or a legacy Cocos policy)")
    found = "snp" if kind.startswith("snp") else "tdx"
    if platform not in ("auto", found):
        raise PolicyFormatError(f"this is a {found.upper()} policy, but the evidence is {platform.upper()}")
    if kind == "snp":
        return SnpPolicy.from_json(data)
    if kind == "snp-legacy":
        return SnpPolicy.from_legacy_json(data)
    if kind == "tdx":
        return TdxPolicy.from_json(data)
    return _tdx_from_legacy(doc)


def _json_policy_kind(doc: dict[str, Any]) -> str | None:
    if doc.get("format") == "prism-snp-policy":
        return "snp"
    if doc.get("format") == "prism-tdx-policy":
        return "tdx"
    if "version" in doc and ("rtmrs" in doc or "accepted_tcb_statuses" in doc or "mr_td" in doc):
        return "tdx"
    inner = doc.get("policy")
    if isinstance(inner, dict) and {"headerPolicy", "tdQuoteBodyPolicy", "header_policy",
                                    "td_quote_body_policy"} & set(inner):
        return "tdx-legacy"
    if set(doc) & {"policy", "root_of_trust", "rootOfTrust", "pcr_values"}:
        return "snp-legacy"
    return None


def _policy_from_corim(data: bytes, platform: str) -> Policy:
    from core.attestation import corim  # cbor2 is loaded only for binary policies

    if not corim.is_corim(data):
        raise PolicyFormatError(
            "the policy file is neither JSON nor a CoRIM; give our policy JSON, a legacy JSON policy "
            "or the CoRIM the manager publishes")
    found = corim.decode_corim(data).platform
    if platform not in ("auto", found):
        raise PolicyFormatError(f"this CoRIM holds {found.upper()} reference values, but the evidence is "
                                f"{platform.upper()}")
    if found == "tdx":
        return corim.tdx_policy_from_corim(data, None)
    return corim.snp_policy_from_corim(data, None)


def _b64_or_hex(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise PolicyFormatError(f"{name} in the legacy TDX policy must be a string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise PolicyFormatError(f"{name} is neither base64 nor hex") from None
    if len(raw) != size:
        raise PolicyFormatError(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def _tdx_from_legacy(doc: dict[str, Any]) -> TdxPolicy:
    """go-tdx-guest checkconfig.Config (§6.2, camelCase or snake_case keys) to our TdxPolicy."""
    def pick(obj: Any, camel: str, snake: str) -> Any:
        return obj.get(camel, obj.get(snake)) if isinstance(obj, dict) else None

    pol = doc.get("policy") or {}
    header = pick(pol, "headerPolicy", "header_policy") or {}
    body = pick(pol, "tdQuoteBodyPolicy", "td_quote_body_policy") or {}

    def opt(obj: Any, camel: str, snake: str, size: int) -> bytes | None:
        value = pick(obj, camel, snake)
        return None if value in (None, "") else _b64_or_hex(value, size, camel)

    rtmrs = pick(body, "rtmrs", "rtmrs") or []
    if not isinstance(rtmrs, list) or len(rtmrs) > 4:
        raise PolicyFormatError("rtmrs in the legacy TDX policy must be a list of up to four values")
    any_mr_td = pick(body, "anyMrTd", "any_mr_td") or []
    try:
        return TdxPolicy(
            mr_td=opt(body, "mrTd", "mr_td", 48), mr_seam=opt(body, "mrSeam", "mr_seam", 48),
            mr_config_id=opt(body, "mrConfigId", "mr_config_id", 48),
            mr_owner=opt(body, "mrOwner", "mr_owner", 48),
            mr_owner_config=opt(body, "mrOwnerConfig", "mr_owner_config", 48),
            report_data=opt(body, "reportData", "report_data", 64),
            td_attributes=opt(body, "tdAttributes", "td_attributes", 8), xfam=opt(body, "xfam", "xfam", 8),
            minimum_tee_tcb_svn=opt(body, "minimumTeeTcbSvn", "minimum_tee_tcb_svn", 16),
            rtmrs=tuple([_b64_or_hex(r, 48, f"rtmrs[{i}]") for i, r in enumerate(rtmrs)]
                        + [None] * (4 - len(rtmrs))),
            any_mr_td=tuple(_b64_or_hex(m, 48, "anyMrTd") for m in any_mr_td),
            qe_vendor_id=opt(header, "qeVendorId", "qe_vendor_id", 16),
            minimum_qe_svn=_opt_int(pick(header, "minimumQeSvn", "minimum_qe_svn")),
            minimum_pce_svn=_opt_int(pick(header, "minimumPceSvn", "minimum_pce_svn")),
        )
    except (TypeError, ValueError) as exc:
        raise PolicyFormatError(f"the legacy TDX policy has a malformed value: {exc}") from None


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise PolicyFormatError(f"{value!r} in the legacy TDX policy is not a non-negative integer")
    return int(value)


# --- assessment -------------------------------------------------------------------------------

def assess(evidence: Evidence, *, vcek: x509.Certificate | None = None,
           chain: Sequence[x509.Certificate] | None = None,
           collateral: CollateralInputs | TdxCollateral | None = None, policy: Policy | None = None,
           at: datetime | None = None, trust: TrustStore | TdxTrust | None = None,
           vtpm: VtpmExpectations | None = None) -> Verdict:
    """Verify ``evidence`` (authenticity), then validate it against ``policy`` when one is given.

    For SNP-vTPM evidence, ``vtpm`` runs the vTPM checks: ``VtpmExpectations()`` all those that need
    no session value, and more with each value given. None leaves them to the caller (a live
    session checks them with its own nonce and binding) and records one ``vtpm.quote`` SKIP.
    """
    at = _utc(at)
    if isinstance(collateral, TdxCollateral):
        collateral = CollateralInputs(tdx=collateral)
    collateral = collateral or CollateralInputs()
    if policy is not None and _policy_platform(policy) != evidence.platform:
        raise PolicyFormatError(f"the policy is for {_policy_platform(policy).upper()} but the evidence "
                                f"is {evidence.platform.upper()}; pick the matching policy")
    if evidence.platform == "snp":
        verdict = _assess_snp(evidence, vcek, list(chain or ()), collateral, policy, at,
                              trust if isinstance(trust, TrustStore) else None)
    else:
        verdict = _assess_tdx(evidence, collateral.tdx, policy, at,
                              trust if isinstance(trust, TdxTrust) else None)
    _wrapper_checks(evidence, verdict, vtpm)
    return verdict


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _policy_platform(policy: Policy) -> str:
    return "snp" if isinstance(policy, SnpPolicy) else "tdx"


def _assess_snp(evidence: Evidence, vcek: x509.Certificate | None, chain: list[x509.Certificate],
                collateral: CollateralInputs, policy: Policy | None, at: datetime,
                trust: TrustStore | None) -> Verdict:
    report = evidence.report
    pool = chain + embedded_cas(evidence) + list(collateral.snp_certs)
    leaves = [c for c in pool if classify(c)[0] in (CertRole.VCEK, CertRole.VLEK)]
    candidates = [c for c in (vcek, embedded_leaf(evidence), *leaves) if c is not None]
    cas = [c for c in pool if c not in leaves]
    verdict = verify_snp(report, vcek=_pick_leaf(candidates, report), chain=cas, trust=trust, at=at,
                         crl=collateral.snp_crl, verdict=Verdict(platform="snp"))
    if isinstance(policy, SnpPolicy):
        validate_snp(report, policy, verdict)
    return verdict


def _pick_leaf(candidates: list[x509.Certificate], report: Any) -> x509.Certificate | None:
    """The first certificate issued for REPORTED_TCB; Cocos may carry a stale VCEK (§2.9 #12)."""
    for cert in candidates:
        try:
            if parse_vek_extensions(cert).tcb().components() == report.reported_tcb.components():
                return cert
        except EvidenceError:
            continue
    return candidates[0] if candidates else None


def _assess_tdx(evidence: Evidence, collateral: TdxCollateral | None, policy: Policy | None,
                at: datetime, trust: TdxTrust | None) -> Verdict:
    quote = evidence.quote
    verdict = verify_tdx(quote, collateral, at=at, trust=trust, verdict=Verdict(platform="tdx"))
    if isinstance(policy, TdxPolicy):
        try:
            tcb = evaluate_quote_tcb(quote, collateral)
        except EvidenceError:
            tcb = None  # verification already recorded why the PCK certificate is unusable
        validate_tdx(quote, policy, verdict, tcb_status=tcb, at=at)
    return verdict


def _wrapper_checks(evidence: Evidence, verdict: Verdict, vtpm: VtpmExpectations | None) -> None:
    bound = hcl_binding_ok(evidence)
    if bound is not None:
        verdict.add(Check(
            "azure.runtime_data", Status.PASS if bound else Status.FAIL,
            "The Azure runtime data (with the vTPM key) is bound into the report: REPORT_DATA starts with "
            "its SHA-256." if bound else "The Azure runtime data does not match the report's REPORT_DATA; "
            "it was replaced or altered.",
            expected=evidence.report.report_data[:32].hex(),
            actual=hashlib.sha256(evidence.runtime_data or b"").hexdigest()))
    if evidence.eat is not None:
        verdict.add(Check(
            "eat.signature", Status.SKIP,
            "The EAT wrapper is signed with a throwaway key nobody publishes, so its signature proves "
            "nothing; only the hardware evidence inside it is verified.", actual=evidence.source))
    if evidence.eat_platform_type != "SNP-vTPM":
        return
    if vtpm is not None:
        check_vtpm_evidence(evidence, verdict, vtpm)
    else:
        verdict.add(Check(
            "vtpm.quote", Status.SKIP,
            "This evidence also holds vTPM quotes; they are checked during a live connection, where the "
            "session nonce is known."))


# --- HTML export ------------------------------------------------------------------------------

_STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "warn": "#9a6700", "skip": "#6e7781"}


def verdict_to_html(verdict: Verdict, evidence: Evidence) -> str:
    """A self-contained HTML report (no scripts, no external resources); every value escaped."""
    e = html.escape
    head = "AUTHENTIC" if verdict.authentic else "NOT AUTHENTIC"
    accept = ("acceptable under the policy" if verdict.acceptable else "NOT acceptable under the policy") \
        if verdict.policy_applied else "no policy applied"
    rows = "\n".join(
        f"<tr><td>{e(c.id)}</td><td>{e(c.stage.value)}</td>"
        f"<td style=\"color:{_STATUS_COLOURS[c.status.value]};font-weight:bold\">{e(c.status.value.upper())}</td>"
        f"<td>{e(c.explanation)}</td><td><code>{e(c.expected)}</code></td><td><code>{e(c.actual)}</code></td></tr>"
        for c in verdict.checks)
    fields = "\n".join(f"<tr><td>{e(g)}</td><td>{e(n)}</td><td><code>{e(v)}</code></td></tr>"
                       for g, n, v in describe(evidence))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Attestation report: {e(verdict.platform.upper())}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}}
code{{word-break:break-all}}</style></head><body>
<h1>Attestation report: {e(verdict.platform.upper())} evidence</h1>
<p><strong>{e(head)}</strong>; {e(accept)}.</p>
<h2>Checks</h2>
<table><tr><th>Check</th><th>Stage</th><th>Result</th><th>Explanation</th><th>Expected</th><th>Actual</th></tr>
{rows}
</table>
<h2>Evidence fields</h2>
<table><tr><th>Group</th><th>Field</th><th>Value</th></tr>
{fields}
</table>
</body></html>
"""
