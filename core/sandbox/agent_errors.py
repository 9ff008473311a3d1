"""The agent's error strings and status codes, exactly as clients see them (COCOS-PROTOCOL.md §3.6).

Clients match on these texts, so they are copied verbatim from the protocol, never reworded.
"""

from __future__ import annotations

import grpc

from core.errors import Refused

ERR_STATE_NOT_READY = "agent not expecting this operation in the current state"
ERR_HASH_MISMATCH = "malformed data, hash does not match manifest"
ERR_FILENAME_MISMATCH = "malformed data, filename does not match manifest"
ERR_UNDECLARED_DATASET = "dataset not declared in computation manifest"
ERR_UNDECLARED_ALGORITHM = "algorithm not declared in computation manifest"
ERR_ALL_ITEMS_RECEIVED = "all expected manifest Items have been received"
ERR_RESULTS_NOT_READY = "computation results are not yet ready"
ERR_UNDECLARED_CONSUMER = "result consumer is undeclared in computation manifest"
ERR_ATTESTATION_FAILED = "failed to get raw quote"
ERR_ATTESTATION_TYPE = "invalid attestation type"
ERR_ALGORITHM_REQUIRED = "algorithm binary is required"
ERR_DATASET_REQUIRED = "dataset is required"
ERR_DECOMPRESS = "error decompressing dataset"
ERR_TEE_NONCE = "malformed report data, expect less or equal to 64 bytes"
ERR_VTPM_NONCE = "malformed vTPM nonce, expect less or equal to 32 bytes"
ERR_TOKEN_NONCE = "malformed token nonce, expect less or equal to 32 bytes"
ERR_AZURE_TOKEN = "failed to get azure token"
ERR_INVALID_METADATA = "invalid metadata"
ERR_SIGNATURE = "signature verification failed"


class AgentRpcError(Refused):
    """A refusal the servicer turns into a gRPC status (code + the agent's message)."""

    code = "agent-rpc"

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def unknown(message: str) -> AgentRpcError:
    """Service-level errors travel as UNKNOWN with the agent's text (§3.6)."""
    return AgentRpcError(grpc.StatusCode.UNKNOWN, message)


def wrapped(outer: str, inner: str) -> str:
    """Go-style wrapping as the agent renders it: ``<outer> : <inner>``."""
    return f"{outer} : {inner}"
