"""The one result every consumer of evidence reads: an ordered list of checks.

Verification (is the evidence authentic?) and validation (is it acceptable under a policy?)
each append checks; ``Verdict.authentic`` and ``Verdict.acceptable`` are derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class Stage(str, Enum):
    VERIFY = "verify"      # authenticity: signatures, chains, collateral
    VALIDATE = "validate"  # acceptability: the policy


@dataclass(frozen=True, slots=True)
class Check:
    id: str                # stable dotted id, e.g. "snp.signature", "policy.debug"
    status: Status
    explanation: str       # plain language, for a non-expert
    expected: str = ""
    actual: str = ""
    stage: Stage = Stage.VERIFY

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "expected": self.expected,
            "actual": self.actual,
            "explanation": self.explanation,
        }


@dataclass(slots=True)
class Verdict:
    platform: str                          # "snp" | "tdx" | "snp-vtpm" | ...
    checks: list[Check] = field(default_factory=list)
    policy_applied: bool = False

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def extend(self, checks: list[Check]) -> None:
        self.checks.extend(checks)

    @property
    def authentic(self) -> bool:
        verify = [c for c in self.checks if c.stage is Stage.VERIFY]
        return bool(verify) and not any(c.status is Status.FAIL for c in verify)

    @property
    def acceptable(self) -> bool:
        """Authentic and no policy check failed. Without a policy only authenticity counts."""
        return self.authentic and not any(
            c.status is Status.FAIL for c in self.checks if c.stage is Stage.VALIDATE
        )

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def get(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "authentic": self.authentic,
            "acceptable": self.acceptable,
            "checks": [c.to_json() for c in self.checks],
        }
