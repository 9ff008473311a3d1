"""The stable ids of every vTPM check, what each establishes, and how per-quote findings fold into one.

Ids never change meaning once released: the inspector, the CLI's --json output and the tests key on
them. Each id appears once in a Verdict; a finding about one of several quotes names that quote in
the check's ``actual`` text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.attestation.snp.checks import validate_check, verify_check
from core.attestation.verdict import Check

VTPM_CHECKS: dict[str, str] = {
    "vtpm.evidence.parse": "the attest.Attestation protobuf decodes (only when raw bytes are given)",
    "vtpm.ak.binding": "the SNP REPORT_DATA equals SHA3-512(binding prefix || ak_pub): the AK lives in this TEE",
    "vtpm.ak.parse": "ak_pub is an RSA (>= 2048-bit) restricted signing key with scheme RSASSA/SHA-256",
    "vtpm.quote.signature": "every quote's TPMT_SIGNATURE is RSASSA/SHA-256 and verifies with the AK",
    "vtpm.quote.magic": "every quote is a well-formed TPMS_ATTEST with magic TPM_GENERATED and type QUOTE",
    "vtpm.quote.nonce": "every quote's extraData equals the nonce this app expects",
    "vtpm.pcr.selection": "each quote selects exactly the PCRs it reports, in its own bank, once per bank",
    "vtpm.pcr.digest": "each quote's pcrDigest equals SHA-256 of the reported PCR values in index order",
    "vtpm.eventlog.replay": "replaying the firmware event log reproduces the quoted PCR values",
    "vtpm.pcr16.manifest": "PCR16 equals the value the agent extends for this computation's manifest",
    "vtpm.pcr.boot": "boot PCRs 0-9 against reference values (informational when none are given)",
}


@dataclass(slots=True)
class Findings:
    """Per-quote outcomes for one check id: True pass, False fail, None not checked."""

    check_id: str
    results: list[tuple[bool | None, str]] = field(default_factory=list)

    def add(self, ok: bool | None, note: str) -> None:
        self.results.append((ok, note))

    def check(self, passed: str, failed: str, skipped: str, *, expected: str = "") -> Check:
        """One Check: fail if any quote failed, pass if all passed, skip if none was checked."""
        failures = [note for ok, note in self.results if ok is False]
        checked = [ok for ok, _ in self.results if ok is not None]
        if failures:
            return verify_check(self.check_id, False, f"{failed} ({'; '.join(failures)})",
                                expected=expected, actual="; ".join(failures))
        if not checked:
            reasons = "; ".join(dict.fromkeys(note for _, note in self.results if note))
            return verify_check(self.check_id, None, f"{skipped}{f' ({reasons})' if reasons else ''}",
                                expected=expected)
        return verify_check(self.check_id, True, passed, expected=expected,
                            actual="; ".join(note for ok, note in self.results if ok))


__all__ = ["VTPM_CHECKS", "Findings", "validate_check", "verify_check"]
