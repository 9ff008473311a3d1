"""prism attest ... — inspect and verify attestation evidence, and manage attestation policies.

Exit codes of `attest verify`: 0 authentic (and acceptable under --policy), 1 not, 2 unreadable input.
`attest measure` exits 0 when the computed digest is printed (and matches --report), 1 on a mismatch.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

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
                   help="a collateral pack, a folder or a file of certificates, CRLs, Intel JSON or an "
                        "SNP certificate table (repeat)")
    p.add_argument("--no-cache", action="store_true",
                   help="do not use the workspace's collateral cache (it is otherwise the last source)")
    p.add_argument("--trust-sandbox-root", metavar="PEM",
                   help="also trust this sandbox root (evidence from a simulated TEE, never real hardware)")
    p.add_argument("--policy", help="our policy JSON, a legacy go-sev-guest/cocos JSON policy, or a CoRIM")
    p.add_argument("--at", help="verify as of this time (ISO 8601), e.g. the capture date")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--html", help="also write a self-contained HTML report to this file")
    _vtpm_arguments(p)
    p.set_defaults(func=verify)

    _register_measure(asub)

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


def _vtpm_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("SNP-vTPM evidence (the session values enable more vTPM checks)")
    group.add_argument("--vtpm-nonce", metavar="HEX",
                       help="the vtpmNonce of the request (up to 32 bytes, zero-padded as the agent does), "
                            "or SHA-256 of the aTLS exported value: checks the quotes' freshness")
    binding = group.add_mutually_exclusive_group()
    binding.add_argument("--tee-nonce", metavar="HEX",
                         help="the teeNonce of the request (up to 64 bytes, zero-padded): checks that the "
                              "report binds the TPM's key")
    binding.add_argument("--binding", metavar="HEX",
                         help="the 64-byte binding prefix (SHA-512 of the aTLS binding), instead of --tee-nonce")
    group.add_argument("--manifest", metavar="FILE",
                       help="the computation manifest (JSON): checks PCR16 against it")


def _register_measure(asub: argparse._SubParsersAction) -> None:
    p = asub.add_parser("measure", help="the SNP launch measurement a VM should have, from its boot inputs")
    p.add_argument("--ovmf", required=True, help="the OVMF firmware image the VM boots")
    p.add_argument("--kernel", help="the kernel of a direct boot")
    p.add_argument("--initrd", help="the initrd of a direct boot (needs --kernel)")
    p.add_argument("--append", help="the kernel command line of a direct boot (needs --kernel)")
    p.add_argument("--vcpus", type=int, required=True, help="the number of vCPUs")
    p.add_argument("--vcpu-type", default="EPYC-v4", help="the QEMU vCPU model (default: EPYC-v4)")
    p.add_argument("--guest-features", default="0x1",
                   help="SEV_FEATURES of the VMSAs, e.g. 0x1 or 0x21 (default: 0x1)")
    p.add_argument("--vmm", choices=("qemu", "ec2", "gce"), default="qemu")
    p.add_argument("--report", help="compare with the MEASUREMENT of this report (any evidence format)")
    p.add_argument("--out", help="write an SNP policy allowing exactly this measurement")
    p.add_argument("--base", help="start the policy from this policy file (any supported format)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=measure)


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
    from core.attestation.cert_bundle import load_certificate_bundle

    return [c for path in paths for c in load_certificate_bundle(read_input_file(path), source=path)]


def _leaf(path: str | None) -> tuple:
    """The --vcek certificate; a bundle or the host's certificate table adds its others to the chain."""
    if not path:
        return None, []
    certs = _certs([path])
    if not certs:
        raise BadInput(f"{path} holds no certificate; give the VCEK or VLEK (PEM or DER)")
    return certs[0], certs[1:]


def _hex(text: str | None, option: str) -> bytes | None:
    if text is None:
        return None
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise BadInput(f"{option} must be hexadecimal, e.g. {option} 0a0b0c") from None


def _vtpm_expectations(ctx: Context, evidence):
    from core.attestation.assess import VtpmExpectations

    a = ctx.args
    given = [o for o, v in (("--vtpm-nonce", a.vtpm_nonce), ("--tee-nonce", a.tee_nonce),
                             ("--binding", a.binding), ("--manifest", a.manifest)) if v is not None]
    if evidence.eat_platform_type != "SNP-vTPM":
        if given:
            raise BadInput(f"{', '.join(given)} only apply to SNP-vTPM evidence, and this is "
                           f"{evidence.eat_platform_type or evidence.source}; drop them")
        return None
    computation = None
    if a.manifest:
        from core.cocos.manifest import computation_from_json

        computation = computation_from_json(read_input_file(a.manifest))
    expect = VtpmExpectations.from_request(vtpm_nonce=_hex(a.vtpm_nonce, "--vtpm-nonce"),
                                           tee_nonce=_hex(a.tee_nonce, "--tee-nonce"), computation=computation)
    if a.binding is not None:
        expect = replace(expect, binding=_hex(a.binding, "--binding"))  # its length is checked on creation
    return expect


def _trust(ctx: Context, evidence):
    from cryptography import x509

    from core.attestation.roots import TrustStore

    path = ctx.args.trust_sandbox_root
    if not path:
        return None
    if evidence.platform != "snp":
        raise BadInput("--trust-sandbox-root applies to SNP evidence (the sandbox simulates AMD SEV-SNP); "
                       f"this is {evidence.platform.upper()} evidence, so drop it")
    trust = TrustStore()
    try:
        trust.add_sandbox_root(x509.load_pem_x509_certificate(read_input_file(path)))
    except ValueError:
        raise BadInput(f"{path} is not a PEM certificate; give the sandbox's ark.pem") from None
    return trust


def _cache_dir(ctx: Context) -> Path | None:
    """The workspace's cache folder when that workspace exists (verification never creates one)."""
    if ctx.args.no_cache or not ctx.manager.exists(ctx.args.workspace):
        return None
    return ctx.workspace.cache_dir


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
    by_group: dict[str, list[tuple[str, str]]] = {}
    for g, name, value in rows:  # one heading per group even if rows of a group are apart
        by_group.setdefault(g, []).append((name, value))
    for g, fields in by_group.items():
        ctx.out(f"[{g}]")
        for name, value in fields:
            ctx.out(f"  {name:<28} {value}")
    return EXIT_OK


def verify(ctx: Context) -> int:
    from core.attestation.assess import assess, load_collateral, load_policy, verdict_to_html

    a = ctx.args
    evidence = _load_evidence(ctx)
    at = _parse_at(a.at)
    vcek, carried = _leaf(a.vcek)
    policy = load_policy(read_input_file(a.policy), evidence.platform) if a.policy else None
    vtpm = _vtpm_expectations(ctx, evidence)
    collateral = load_collateral(a.collateral, evidence, cache_dir=_cache_dir(ctx))
    verdict = assess(evidence, vcek=vcek, chain=_certs(a.chain) + carried, collateral=collateral, policy=policy,
                     at=at, trust=_trust(ctx, evidence), vtpm=vtpm)
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


def measure(ctx: Context) -> int:
    from core.attestation.workbench import MeasurementInputs, compare, compute_measurement

    a = ctx.args
    expected = compute_measurement(MeasurementInputs(
        ovmf=Path(a.ovmf), vcpus=a.vcpus, vcpu_type=a.vcpu_type, kernel=Path(a.kernel) if a.kernel else None,
        initrd=Path(a.initrd) if a.initrd else None, append=a.append,
        guest_features=_int(a.guest_features, "--guest-features"), vmm=a.vmm))
    check = compare(_load_report(a.report), expected) if a.report else None
    if a.out:
        write_public_file(Path(a.out), _measured_policy(expected, a.base))
    if a.json:
        ctx.emit_json({"measurement": expected.hex, "inputs": expected.inputs.describe(),
                       "comparison": check.to_json() if check else None, "policy": a.out})
    else:
        ctx.out(f"expected measurement: {expected.hex}")
        ctx.out(f"  from {expected.inputs.describe()}")
        if check is not None:
            ctx.out(f"{check.status.value.upper():<5} {check.id}: {check.explanation}")
            if check.status.value != "pass":
                ctx.out(f"      expected: {check.expected}\n      actual:   {check.actual}")
        if a.out:
            ctx.out(f"wrote SNP policy allowing this measurement to {a.out}")
    return EXIT_REFUSED if check is not None and check.status.value != "pass" else EXIT_OK


def _int(text: str, option: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise BadInput(f"{option} must be a number such as 0x21 or 33, not {text!r}") from None


def _load_report(path: str):
    from core.attestation.evidence import load_evidence

    return load_evidence(read_input_file(path), platform="snp").report


def _measured_policy(expected, base_path: str | None) -> bytes:
    from core.attestation.assess import load_policy
    from core.attestation.snp.policy import SnpPolicy
    from core.attestation.workbench import policy_from_measurement

    base = load_policy(read_input_file(base_path), "snp") if base_path else None
    return _policy_bytes(policy_from_measurement(expected, cast(SnpPolicy | None, base)))
