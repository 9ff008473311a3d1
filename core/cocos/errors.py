"""Typed errors for what a Cocos agent or manager answers (COCOS-PROTOCOL.md §3.6, §5.3, §9).

The agent reports service errors as status ``UNKNOWN`` with a Go error string, wrapped
errors render as ``"<outer> : <inner>"``, so the mapping matches substrings, never whole
messages. Every error keeps the agent's own text (``agent_message``) and status
(``grpc_code``) so the UI can show both a friendly line and the raw cause.
"""

from __future__ import annotations

import grpc

from core.errors import BadInput, NotFound, Refused

__all__ = [
    "AgentError",
    "AgentTimeout",
    "AgentUnavailable",
    "AttestationUnavailable",
    "ComputationFailed",
    "DecompressFailed",
    "HashMismatch",
    "ManagerError",
    "ResultsNotReady",
    "TransferIncomplete",
    "Unauthenticated",
    "UndeclaredDataset",
    "UnexpectedOperation",
    "VmNotFound",
    "map_agent_error",
    "map_manager_error",
]


class AgentError(Refused):
    """The agent refused or failed an RPC; ``agent_message`` is its exact text."""

    code = "agent-error"

    def __init__(self, message: str, *, grpc_code: grpc.StatusCode | None, agent_message: str,
                 code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.grpc_code = grpc_code
        self.agent_message = agent_message


class Unauthenticated(AgentError):
    code = "agent-unauthenticated"


class HashMismatch(AgentError):
    code = "agent-hash-mismatch"


class UndeclaredDataset(AgentError):
    code = "agent-undeclared-dataset"


class UnexpectedOperation(AgentError):
    code = "agent-wrong-state"


class ResultsNotReady(AgentError):
    code = "agent-results-not-ready"


class ComputationFailed(AgentError):
    code = "agent-computation-failed"


class DecompressFailed(AgentError):
    code = "agent-decompress-failed"


class AttestationUnavailable(AgentError):
    code = "agent-attestation-unavailable"


class AgentUnavailable(AgentError):
    code = "agent-unavailable"


class AgentTimeout(AgentError):
    code = "agent-timeout"


class TransferIncomplete(BadInput):
    """A download whose byte count differs from the ``file-size`` the agent announced."""

    code = "transfer-incomplete"


# (substring of the agent's message, error class, machine code, what the person should do)
_AGENT_RULES: tuple[tuple[str, type[AgentError], str | None, str], ...] = (
    ("agent not expecting this operation", UnexpectedOperation, None,
     "the agent is not in the state for this step; upload the algorithm first, then the datasets, "
     "and do not repeat an upload that already succeeded"),
    ("all expected manifest items have been received", UnexpectedOperation, "agent-all-received",
     "the agent expects no more datasets; if an earlier upload failed to unpack, stop and restart the computation"),
    ("hash does not match manifest", HashMismatch, None,
     "the file's SHA3-256 differs from the hash in the manifest; upload exactly the file that was declared"),
    ("filename does not match manifest", UndeclaredDataset, "agent-filename-mismatch",
     "use the dataset file name exactly as written in the manifest"),
    ("dataset not declared in computation manifest", UndeclaredDataset, None,
     "no pending dataset has this file name; check the name against the manifest (it may already be uploaded)"),
    ("algorithm not declared in computation manifest", UnexpectedOperation, "agent-undeclared-algorithm",
     "the manifest declares no algorithm; fix the computation and restart it"),
    ("computation results are not yet ready", ResultsNotReady, None,
     "the computation is still running; try again later"),
    ("error decompressing dataset", DecompressFailed, None,
     "the dataset is not a valid zip; upload a zip or turn decompression off"),
    ("failed to get raw quote", AttestationUnavailable, None,
     "the agent could not produce attestation evidence; check the attestation type matches the CVM's platform"),
    ("failed to get vtpm quote", AttestationUnavailable, None,
     "the agent could not produce a vTPM quote; check the attestation type matches the CVM's platform"),
    ("failed to get azure token", AttestationUnavailable, None, "the agent could not fetch an Azure token"),
    ("failed to create eat", AttestationUnavailable, None,
     "the agent could not build its attestation token; retry, or treat attestation as unavailable"),
    ("attestation type does not exist", AttestationUnavailable, "agent-attestation-type",
     "choose an attestation type the CVM supports"),
    ("invalid attestation type", AttestationUnavailable, "agent-attestation-type",
     "choose an attestation type the CVM supports"),
    ("malformed report data", AgentError, "agent-bad-nonce", "use a TEE nonce of at most 64 bytes"),
    ("malformed vtpm nonce", AgentError, "agent-bad-nonce", "use a vTPM nonce of at most 32 bytes"),
    ("algorithm binary is required", AgentError, "agent-empty-upload", "the algorithm file is empty"),
    ("dataset is required", AgentError, "agent-empty-upload", "the dataset file is empty"),
    ("missing or invalid credentials", Unauthenticated, None,
     "the agent rejected the credentials; check the participant key"),
)


def _status(error: grpc.RpcError) -> tuple[grpc.StatusCode | None, str]:
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = error.details() if callable(getattr(error, "details", None)) else None
    return code, details or ""


def map_agent_error(error: grpc.RpcError, *, operation: str, target: str = "the agent") -> AgentError:
    """The typed error for an agent RPC failure. ``operation`` names the step for the message."""
    code, text = _status(error)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(
            f"{operation}: the agent did not accept the participant signature ({text}); use the key "
            "declared in the manifest for this role", grpc_code=code, agent_message=text)
    if code == grpc.StatusCode.UNAVAILABLE:
        return AgentUnavailable(
            f"{operation}: {target} is not reachable ({text}); the agent opens its port only after it "
            "has received the manifest, so wait and retry", grpc_code=code, agent_message=text)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return AgentTimeout(f"{operation}: {target} did not answer in time; retry or raise the timeout",
                            grpc_code=code, agent_message=text)
    lowered = text.lower()
    for needle, kind, machine_code, advice in _AGENT_RULES:
        if needle in lowered:
            return kind(f"{operation}: {advice} (agent said: {text})", grpc_code=code,
                        agent_message=text, code=machine_code)
    if operation.startswith("download result") and code == grpc.StatusCode.UNKNOWN:
        # In state Failed the agent answers Result with the run error itself (§5.3).
        return ComputationFailed(f"{operation}: the computation failed: {text}", grpc_code=code, agent_message=text)
    name = code.name if code is not None else "no status"
    return AgentError(f"{operation}: the agent answered {name}: {text or '(no message)'}",
                      grpc_code=code, agent_message=text)


# --- manager ---------------------------------------------------------------------------


class ManagerError(Refused):
    """The manager refused or failed an RPC; ``manager_message`` is its exact text."""

    code = "manager-error"

    def __init__(self, message: str, *, grpc_code: grpc.StatusCode | None, manager_message: str,
                 code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.grpc_code = grpc_code
        self.manager_message = manager_message


class VmNotFound(ManagerError, NotFound):
    code = "manager-vm-not-found"


def map_manager_error(error: grpc.RpcError, *, operation: str, target: str) -> ManagerError:
    code, text = _status(error)
    lowered = text.lower()
    if code == grpc.StatusCode.UNAVAILABLE:
        return ManagerError(
            f"{operation}: the manager at {target} is not reachable ({text}); check its address, and its "
            "TLS settings and client certificate if it requires them", grpc_code=code, manager_message=text,
            code="manager-unavailable")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ManagerError(f"{operation}: the manager at {target} did not answer in time", grpc_code=code,
                            manager_message=text, code="manager-timeout")
    if "entity not found" in lowered or code == grpc.StatusCode.NOT_FOUND:
        return VmNotFound(f"{operation}: the manager has no such CVM ({text})", grpc_code=code,
                          manager_message=text)
    if "maximum number of vms exceeded" in lowered:
        return ManagerError(f"{operation}: the manager runs its maximum number of CVMs; remove one first "
                            f"(manager said: {text})", grpc_code=code, manager_message=text,
                            code="manager-vm-limit")
    if "failed to allocate free port" in lowered:
        return ManagerError(f"{operation}: the manager has no free host port for another CVM; remove one "
                            f"or widen its port range (manager said: {text})", grpc_code=code,
                            manager_message=text, code="manager-no-port")
    name = code.name if code is not None else "no status"
    return ManagerError(f"{operation}: the manager answered {name}: {text or '(no message)'}",
                        grpc_code=code, manager_message=text)
