"""The agent's state machine and the events it reports (COCOS-PROTOCOL.md §5.1-§5.2, §8.4).

State names are the exact strings the real agent sends to the CVMS; event types and statuses
are those of §8.4, so a CVMS (ours or Prism's) sees the sandbox as it would a real agent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from core.errors import Refused

log = logging.getLogger(__name__)


class AgentState(Enum):
    """Value = the agent's numeric state; ``.name`` is the wire string."""

    Idle = 0
    ReceivingManifest = 1
    ReceivingAlgorithm = 2
    ReceivingData = 3
    Running = 4
    ConsumingResults = 5
    Complete = 6
    Failed = 7


class AgentEventName(str, Enum):
    START = "Start"
    MANIFEST_RECEIVED = "ManifestReceived"
    ALGORITHM_RECEIVED = "AlgorithmReceived"
    DATA_RECEIVED = "DataReceived"
    RUN_COMPLETE = "RunComplete"
    RUN_FAILED = "RunFailed"
    RESULTS_CONSUMED = "ResultsConsumed"
    STOP = "StopComputation"


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One event as it goes to the CVMS (``cvms.AgentEvent``): originator is always the agent."""

    event_type: str
    status: str
    originator: str = "agent"
    details: bytes = b""


@dataclass(frozen=True, slots=True)
class AgentLog:
    """One log line for the CVMS log stream (``cvms.AgentLog``)."""

    level: str
    message: str


EventListener = Callable[[AgentEvent], None]
LogListener = Callable[[AgentLog], None]


class InvalidTransition(Refused):
    code = "invalid-transition"


S = AgentState
E = AgentEventName
_TRANSITIONS: dict[tuple[AgentState, AgentEventName], AgentState] = {
    (S.Idle, E.START): S.ReceivingManifest,
    (S.ReceivingManifest, E.MANIFEST_RECEIVED): S.ReceivingAlgorithm,
    (S.ReceivingAlgorithm, E.ALGORITHM_RECEIVED): S.ReceivingData,   # Running when no datasets
    (S.ReceivingData, E.DATA_RECEIVED): S.Running,
    (S.Running, E.RUN_COMPLETE): S.ConsumingResults,
    (S.ReceivingAlgorithm, E.RUN_FAILED): S.Failed,
    (S.ReceivingData, E.RUN_FAILED): S.Failed,
    (S.Running, E.RUN_FAILED): S.Failed,
    (S.ConsumingResults, E.RESULTS_CONSUMED): S.Complete,
}
#: the event §8.4 reports on entering a state (Running reports Starting/InProgress itself)
_ON_ENTER = {
    S.ReceivingAlgorithm: "InProgress", S.ReceivingData: "InProgress", S.ConsumingResults: "Ready",
    S.Complete: "Completed", S.Failed: "Failed",
}


class StateMachine:
    """Current state plus the listeners that hear every event; not thread-safe (one loop)."""

    def __init__(self, on_event: EventListener | None = None) -> None:
        self.state = AgentState.Idle
        self._on_event = on_event

    def emit(self, event_type: str, status: str) -> None:
        log.debug("agent event %s %s", event_type, status)
        if self._on_event is not None:
            self._on_event(AgentEvent(event_type, status))

    def fire(self, event: AgentEventName, *, has_datasets: bool = True) -> AgentState:
        """Apply ``event``; raises ``InvalidTransition`` when the current state does not allow it."""
        if event is E.STOP:
            self.state = S.ReceivingManifest
            self.emit("Stopped", "Stopped")
            return self.state
        target = _TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(f"the agent cannot take {event.value} in state {self.state.name}")
        if event is E.ALGORITHM_RECEIVED and not has_datasets:
            target = S.Running
        if event is E.RUN_FAILED and self.state is S.Running:
            self.emit("Running", "Failed")
        if event is E.RUN_COMPLETE:
            self.emit("Running", "Completed")
        self.state = target
        if target in _ON_ENTER:
            self.emit(target.name, _ON_ENTER[target])
        return target
