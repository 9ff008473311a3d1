"""What the Attestation Inspector runs off the GUI thread, and the plain-language headline.

No Qt here: ``inspect`` reads the chosen files, parses the evidence, gathers certificates,
collateral and the policy, and calls ``assess`` exactly as the CLI does; the view shows the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import BadInput, NotFound

if TYPE_CHECKING:
    from cryptography import x509

    from core.attestation.assess import CollateralInputs, Policy
    from core.attestation.evidence import Evidence
    from core.attestation.roots import TrustStore
    from core.attestation.tdx.tcb import TcbEvaluation
    from core.attestation.verdict import Check, Verdict

MAX_INPUT_FILE = 8 << 20   # evidence, certificates and policies are kilobytes; refuse a wrong huge pick
CERT_SUFFIXES = (".pem", ".der", ".cer", ".crt")
POLICY_SUFFIXES = (".json", ".corim", ".cbor")
PACK_SUFFIXES = (".zip", ".tar", ".gz", ".pack")


@dataclass(frozen=True, slots=True)
class InspectionInputs:
    evidence: Path
    certificates: tuple[Path, ...] = ()
    collateral: tuple[Path, ...] = ()       # directories or packs
    policy: Path | None = None
    at: datetime | None = None              # None: now
    trust_test_roots: bool = False          # trust self-signed non-AMD ARKs among the given files
    cache_dir: Path | None = None           # the workspace's cache folder: collateral to fall back on


@dataclass(frozen=True, slots=True)
class Inspection:
    inputs: InspectionInputs
    evidence: Evidence
    verdict: Verdict
    policy: Policy | None
    at: datetime
    certificates: tuple[x509.Certificate, ...]   # every certificate seen: given, carried, collateral
    fields: tuple[tuple[str, str, str], ...]
    trusted_test_roots: tuple[str, ...] = field(default=())
    tdx_tcb: TcbEvaluation | None = None         # TDX: the TCB level matched in Intel's TCB Info


@dataclass(frozen=True, slots=True)
class Headline:
    state: str      # "ok" | "unacceptable" | "bad"
    title: str
    detail: str


def read_input(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_FILE:
            raise BadInput(f"{path.name} is {size} bytes; {what} is a few kilobytes — choose the right file")
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder; choose the {what} file itself") from None
    except PermissionError:
        raise BadInput(f"{path} cannot be read (permission denied)") from None


def sort_dropped(paths: list[Path]) -> tuple[Path | None, list[Path], Path | None, list[Path]]:
    """Route dropped files by name: (evidence, certificates, policy, collateral dirs/packs)."""
    evidence: Path | None = None
    policy: Path | None = None
    certs: list[Path] = []
    collateral: list[Path] = []
    for path in paths:
        suffix = path.suffix.lower()
        if path.is_dir() or suffix in PACK_SUFFIXES:
            collateral.append(path)
        elif suffix in CERT_SUFFIXES:
            certs.append(path)
        elif suffix in POLICY_SUFFIXES and len(paths) > 1:
            policy = path
        elif evidence is None:
            evidence = path
    return evidence, certs, policy, collateral


def inspect(inputs: InspectionInputs) -> Inspection:
    from core.attestation.assess import assess, load_collateral, load_policy
    from core.attestation.evidence import describe, load_evidence
    from core.attestation.snp.certs import load_certificates

    evidence = load_evidence(read_input(inputs.evidence, "evidence"))
    given = [c for p in inputs.certificates
             for c in load_certificates(read_input(p, "certificate"), source=p.name)]
    policy = (load_policy(read_input(inputs.policy, "policy"), evidence.platform)
              if inputs.policy is not None else None)
    collateral = load_collateral(list(inputs.collateral), evidence, cache_dir=inputs.cache_dir)
    if not collateral.sources:
        collateral = None
    at = inputs.at.astimezone(timezone.utc) if inputs.at else datetime.now(timezone.utc)
    pool = given + list(evidence.certs) + list(collateral.snp_certs if collateral else ())
    trust, trusted = _trust(pool) if inputs.trust_test_roots else (None, ())
    verdict = assess(evidence, chain=given, collateral=collateral, policy=policy, at=at, trust=trust)
    return Inspection(inputs, evidence, verdict, policy, at, tuple(pool), tuple(describe(evidence)),
                      trusted, _tdx_tcb(evidence, collateral))


def _tdx_tcb(evidence: Evidence, collateral: CollateralInputs | None) -> TcbEvaluation | None:
    from core.attestation.tdx.verify import evaluate_quote_tcb
    from core.errors import EvidenceError

    if evidence.platform != "tdx" or collateral is None:
        return None
    try:
        return evaluate_quote_tcb(evidence.quote, collateral.tdx)
    except EvidenceError:
        return None  # an unreadable PCK certificate: the checks already say why


def _trust(pool: list[x509.Certificate]) -> tuple[TrustStore, tuple[str, ...]]:
    """A trust store that also trusts every self-signed ARK offered that is not one of AMD's."""
    from core.attestation.roots import TrustAnchorError, TrustStore, pinned_identity
    from core.attestation.snp.certs import CertRole, classify, common_name

    store = TrustStore()
    names: list[str] = []
    for cert in pool:
        if classify(cert)[0] is CertRole.ARK and cert.issuer == cert.subject and not pinned_identity(cert):
            try:
                store.add_sandbox_root(cert)
            except TrustAnchorError:
                continue  # not validly self-signed: leave it untrusted, verification says why
            names.append(common_name(cert))
    return store, tuple(names)


def most_serious_first(failures: list[Check]) -> list[Check]:
    """A forged signature matters more than an expired certificate: name the worst failure first."""
    order = ("signature", "chain", "signer", "vek", "chip", "tcb")

    def rank(check: Check) -> int:
        return next((i for i, word in enumerate(order) if word in check.id), len(order))

    return sorted(failures, key=rank)


def headline(verdict: Verdict) -> Headline:
    failures = most_serious_first(verdict.failures())
    names = ", ".join(c.id for c in failures[:4]) + ("…" if len(failures) > 4 else "")
    if not verdict.authentic:
        return Headline("bad", "NOT authentic: do not trust this evidence",
                        f"It failed {_count(failures)}: {names}. " + _first(failures))
    if verdict.policy_applied and not verdict.acceptable:
        return Headline("unacceptable", "Authentic, but NOT acceptable under the policy",
                        f"Genuine hardware evidence, but it breaks the policy: {names}. " + _first(failures))
    if verdict.policy_applied:
        return Headline("ok", "Authentic and acceptable",
                        "Genuine hardware evidence that meets every requirement of the policy.")
    warnings = [c for c in verdict.checks if c.status.value == "warn"]
    note = f" Note {_count(warnings, 'warning')}: {', '.join(c.id for c in warnings)}." if warnings else ""
    return Headline("ok", "Authentic",
                    "Genuine hardware evidence. No policy was given, so only authenticity was judged; "
                    "add a policy to check what it runs." + note)


def _count(checks: list[Check], noun: str = "check") -> str:
    return f"{len(checks)} {noun}" + ("" if len(checks) == 1 else "s")


def _first(failures: list[Check]) -> str:
    return failures[0].explanation if failures else ""
