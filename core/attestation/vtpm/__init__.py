"""vTPM evidence (SNP-vTPM, the Cocos default on SNP): TPM structures, event log, verification.

* ``structures``: TPMT_PUBLIC, TPMT_SIGNATURE, TPMS_ATTEST quotes (parse and build);
* ``eventlog``: the TCG crypto-agile firmware event log (parse, replay, build);
* ``attestation``: ``VtpmAttestation`` and the protobuf ``attest.Attestation`` codec;
* ``verify``: ``verify_vtpm``, the steps of ATTESTATION.md §4.1 as Checks.
"""

from __future__ import annotations
