"""A Cocos-compatible local host: the agent service with the real agent's rules and a simulated
SEV-SNP TEE (with a vTPM) whose root is trusted only when the user explicitly trusts the sandbox.
"""

from __future__ import annotations

from core.sandbox.agent_service import SandboxAgentService
from core.sandbox.state import AgentEvent, AgentLog, AgentState
from core.sandbox.tee import MISBEHAVIOURS, SandboxTee
from core.sandbox.vtpm import SandboxVtpm

__all__ = ["MISBEHAVIOURS", "AgentEvent", "AgentLog", "AgentState", "SandboxAgentService", "SandboxTee",
           "SandboxVtpm"]
