"""prism attest ... — inspect and verify attestation evidence, and manage attestation policies.

Exit codes of `attest verify`: 0 authentic (and acceptable under --policy), 1 not, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context, read_input_file, write_public_file
from core.errors import BadInput

PLATFORMS = ("auto", "snp", "tdx")


def register(sub: argparse._SubParsersAction) -> None:
    attest = sub.add_parser("attest", help="inspect and verify SEV-SNP / TDX evidence; attestation policies")
    asub = attest.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = asub.add_parser("show", help="print every decoded field of a report, quote or EAT")
    p.add_argument("evidence")
    p.add_argument("--platform", choices=PLATFORMS, default="auto")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=show)

    p = asub.add_parser("verify", help="is the evidence authentic (and acceptable under a policy)?")
    p.add_argument("evidence")
    p.add_argument("--platform", choices=PLATFORMS, default="auto")
    p.add_argument("--vcek", help="the VCEK or VLEK certificate (PEM or DER)")
    p.add_argument("--chain", action="append", default=[], help="CA certificates (PEM/DER; repeat)")
    p.add_argument("--collateral", action="append", default=[],
                   help="a collateral pack or a directory of certificates, CRLs and Intel JSON (repeat)")
    p.add_argument("--policy", help="our policy JSON, a legacy go-sev-guest/cocos JSON policy, or a CoRIM")
    p.add_argument("--at", help="verify as of this time (ISO 8601), e.g. the capture date")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--html", help="also write a self-contained HTML report to this file")
    p.set_defaults(func=verify)

    policy = asub.add_parser("policy", help="create, import and export attestation policies")
    psub = policy.add_subparsers(dest="policy_action", required=True, metavar="ACTION")

    p = psub.add_parser("from-report", help="a policy pinning everything a report or quote shows")
    p.add_argument("evidence")
    p.add_argument("--platform", choices=PLATFORMS, default="auto")
    p.add_argument("--out", help="write here instead of printing")
    p.set_defaults(func=policy_from_report)

    p = psub.add_parser("from-measurement", help="a policy requiring a launch measurement (SNP) or MRTD (TDX)")
    p.add_argument("measurement", help="48 bytes as hex")
    p.add_argument("--platform", choices=("snp", "tdx"), default="snp")
    p.add_argument("--base", help="start from this policy file (any supported format)")
    p.add_argument("--out", help="write here instead of printing")
    p.set_defaults(func=policy_from_measurement)

    p = psub.add_parser("import", help="convert a legacy JSON policy or a CoRIM into our policy JSON")
    p.add_argument("file")
    p.add_argument("--platform", choices=PLATFORMS, default="auto")
    p.add_argument("--out", help="write here instead of printing")
    p.set_defaults(func=policy_import)

    p = psub.add_parser("export", help="write a policy as our JSON or as a CoRIM for the manager")
    p.add_argument("file")
    p.add_argument("--format", choices=("json", "corim"), default="json")
    p.add_argument("--product", default="EPYC", help="CoRIM product name (default: EPYC, as Cocos)")
    p.add_argument("--out", help="write here (required for --format corim)")
    p.set_defaults(func=policy_export)


# --- helpers ------------------------------------------------------------------------------------

def _load_evidence(ctx: Context):
    from core.attestation.evidence import load_evidence

    return load_evidence(read_input_file(ctx.args.evidence), platform=ctx.args.platform)


def _parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--at {text!r} is not an ISO 8601 time; write e.g. 2026-02-06 or "
                       "2026-02-06T12:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _certs(paths: list[str]) -> list:
    from core.attestation.snp.certs import load_certificates

    return [c for path in paths for c in load_certificates(read_input_file(path), source=path)]


def _policy_bytes(policy) -> bytes:
    from core.attestation.snp.policy import SnpPolicy

    if isinstance(policy, SnpPolicy):
        return policy.to_json() + b"\n"
    return json.dumps(policy.to_json(), indent=2).encode() + b"\n"


def _write_or_print(ctx: Context, data: bytes, out: str | None, what: str) -> None:
    if out:
        write_public_file(Path(out), data)
        ctx.out(f"wrote {what} to {out}")
    else:
        ctx.out(data.decode().rstrip("\n"))


# --- commands -----------------------------------------------------------------------------------

def show(ctx: Context) -> int:
    from core.attestation.evidence import describe

    evidence = _load_evidence(ctx)
    rows = describe(evidence)
    if ctx.args.json:
        ctx.emit_json({"platform": evidence.platform, "source": evidence.source,
                       "fields": [{"group": g, "name": n, "value": v} for g, n, v in rows]})
        return EXIT_OK
    group = None
    for g, name, value in rows:
        if g != group:
            ctx.out(f"[{g}]")
            group = g
        ctx.out(f"  {name:<28} {value}")
    return EXIT_OK


def verify(ctx: Context) -> int:
    from core.attestation.assess import assess, load_collateral, load_policy, verdict_to_html

    a = ctx.args
    evidence = _load_evidence(ctx)
    at = _parse_at(a.at)
    vcek = _certs([a.vcek])[0] if a.vcek else None
    policy = load_policy(read_input_file(a.policy), evidence.platform) if a.policy else None
    collateral = load_collateral(a.collateral, evidence) if a.collateral else None
    verdict = assess(evidence, vcek=vcek, chain=_certs(a.chain), collateral=collateral, policy=policy, at=at)
    if a.html:
        write_public_file(Path(a.html), verdict_to_html(verdict, evidence).encode())
    if a.json:
        ctx.emit_json(verdict.to_json())
    else:
        _print_verdict(ctx, verdict)
    return EXIT_OK if verdict.acceptable else EXIT_REFUSED


def _print_verdict(ctx: Context, verdict) -> None:
    for c in verdict.checks:
        ctx.out(f"{c.status.value.upper():<5} {c.id:<28} {c.explanation}")
        if c.status.value in ("fail", "warn") and (c.expected or c.actual):
            ctx.out(f"      expected: {c.expected}\n      actual:   {c.actual}")
    authentic = "authentic" if verdict.authentic else "NOT authentic"
    if verdict.policy_applied:
        accepted = "acceptable under the policy" if verdict.acceptable else "NOT acceptable under the policy"
    else:
        accepted = "no policy given: only authenticity was judged"
    ctx.out(f"{verdict.platform.upper()} evidence is {authentic}; {accepted}.")


def policy_from_report(ctx: Context) -> int:
    from core.attestation.snp.policy import SnpPolicy
    from core.attestation.tdx.policy import TdxPolicy

    evidence = _load_evidence(ctx)
    if evidence.platform == "snp":
        policy = SnpPolicy.from_report(evidence.report)
    else:
        policy = TdxPolicy.from_quote(evidence.quote)
    _write_or_print(ctx, _policy_bytes(policy), ctx.args.out, f"{evidence.platform.upper()} policy")
    return EXIT_OK


def policy_from_measurement(ctx: Context) -> int:
    from core.attestation.assess import load_policy
    from core.attestation.snp.policy import SnpPolicy
    from core.attestation.tdx.policy import TdxPolicy

    a = ctx.args
    try:
        digest = bytes.fromhex(a.measurement.strip())
    except ValueError:
        raise BadInput("the measurement must be hexadecimal") from None
    if len(digest) != 48:
        raise BadInput(f"a launch measurement is 48 bytes (96 hex digits), not {len(digest)}")
    base = load_policy(read_input_file(a.base), a.platform) if a.base else None
    if a.platform == "snp":
        policy = replace(base or SnpPolicy(), measurements=(digest,))
    else:
        policy = replace(base or TdxPolicy(), mr_td=digest)
    _write_or_print(ctx, _policy_bytes(policy), a.out, f"{a.platform.upper()} policy")
    return EXIT_OK


def policy_import(ctx: Context) -> int:
    from core.attestation.assess import load_policy

    policy = load_policy(read_input_file(ctx.args.file), ctx.args.platform)
    _write_or_print(ctx, _policy_bytes(policy), ctx.args.out, "policy")
    return EXIT_OK


def policy_export(ctx: Context) -> int:
    from core.attestation.assess import load_policy
    from core.attestation.snp.policy import SnpPolicy

    a = ctx.args
    policy = load_policy(read_input_file(a.file))
    if a.format == "json":
        _write_or_print(ctx, _policy_bytes(policy), a.out, "policy")
        return EXIT_OK
    if not a.out:
        raise BadInput("a CoRIM is binary: give --out FILE")
    from core.attestation import corim

    if isinstance(policy, SnpPolicy):
        data = corim.corim_from_snp_policy(policy, product_name=a.product)
    else:
        data = corim.corim_from_tdx_policy(policy, product_name=a.product)
    write_public_file(Path(a.out), data)
    ctx.out(f"wrote CoRIM ({len(data)} bytes) to {a.out}")
    return EXIT_OK
