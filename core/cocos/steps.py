"""The steps a computation run reports: light on imports, so progress views can load at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class StepStatus(str, Enum):
    STARTED = "started"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    status: StepStatus
    detail: str = ""
