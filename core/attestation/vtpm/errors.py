"""Typed errors for vTPM evidence that cannot be read."""

from __future__ import annotations

from core.errors import EvidenceError


class VtpmEvidenceError(EvidenceError):
    """vTPM evidence bytes that do not parse."""

    code = "vtpm-evidence"


class TpmStructureError(VtpmEvidenceError):
    """A TPM 2.0 structure (TPMT_PUBLIC, TPMT_SIGNATURE, TPMS_ATTEST) is malformed."""

    code = "tpm-structure"


class EventLogError(VtpmEvidenceError):
    """The TCG firmware event log is malformed."""

    code = "tpm-event-log"


class AttestationFormatError(VtpmEvidenceError):
    """The protobuf ``attest.Attestation`` is malformed."""

    code = "vtpm-attestation"
