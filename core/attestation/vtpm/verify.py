"""Is this vTPM evidence genuine, fresh and running our manifest? (ATTESTATION.md §4.1)

``verify_vtpm`` never raises for forged, altered or mismatched evidence: each step is a Check with a
stable id (``checks.VTPM_CHECKS``). The SNP report itself (signature, chain, TCB) is verified by
``core.attestation.snp.verify.verify_snp``; pass the same Verdict to both to get one result.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.verdict import Verdict
from core.attestation.vtpm.algorithms import TpmAlg, alg_name
from core.attestation.vtpm.attestation import VtpmAttestation, decode_attestation
from core.attestation.vtpm.checks import verify_check
from core.attestation.vtpm.pcrs import check_boot_pcrs, check_event_log, check_pcr16
from core.attestation.vtpm.public import TpmtPublic, parse_public
from core.attestation.vtpm.quotes import check_quotes
from core.cocos.computation import Computation
from core.errors import BadInput, EvidenceError

BINDING_PREFIX_SIZE = 64
_MIN_RSA_BITS = 2048


def report_data_for(binding_prefix: bytes, ak_pub: bytes) -> bytes:
    """SNP-vTPM REPORT_DATA: SHA3-512(prefix || ak_pub).

    ``binding_prefix`` is SHA-512(binding) for aTLS, or the 64-byte teeNonce for the Attestation RPC.
    """
    return hashlib.sha3_512(bytes(binding_prefix) + bytes(ak_pub)).digest()


def tee_nonce64(nonce: bytes) -> bytes:
    """The Attestation RPC's teeNonce, zero-padded to 64 bytes as the agent does."""
    if len(nonce) > BINDING_PREFIX_SIZE:
        raise BadInput(f"a TEE nonce has at most 64 bytes; this one has {len(nonce)}")
    return bytes(nonce) + bytes(BINDING_PREFIX_SIZE - len(nonce))


def verify_vtpm(attestation: VtpmAttestation | bytes, *, expected_nonce: bytes,
                snp_report: AttestationReport | bytes | None = None, binding_hash: bytes | None = None,
                computation: Computation | None = None, verdict: Verdict | None = None,
                reference_pcrs: Mapping[int, Mapping[int, bytes]] | None = None) -> Verdict:
    """Check vTPM evidence step by step and append the checks to ``verdict``.

    ``expected_nonce``: the quote extraData you expect (aTLS: SHA-256(exported_value); RPC: vtpmNonce).
    ``binding_hash``: the 64-byte prefix of the AK binding (SHA-512(binding) or teeNonce64).
    ``snp_report`` overrides ``attestation.snp_report``. ``computation`` enables the PCR16 check and
    ``reference_pcrs`` ({TPM hash id: {index: value}}) turns the boot-PCR record into a check.
    """
    if binding_hash is not None and len(binding_hash) != BINDING_PREFIX_SIZE:
        raise BadInput(f"the binding value must be 64 bytes (SHA-512 of the binding, or the zero-padded "
                       f"TEE nonce); got {len(binding_hash)}")
    verdict = verdict if verdict is not None else Verdict(platform="snp-vtpm")
    att = _decode(verdict, attestation)
    if att is None:
        return verdict
    _check_binding(verdict, att, snp_report if snp_report is not None else att.snp_report, binding_hash)
    key = _check_ak(verdict, att.ak_pub)
    trusted = check_quotes(verdict, att.quotes, key, bytes(expected_nonce))
    claimed = {q.pcrs.hash_alg: q.pcrs for q in reversed(att.quotes)}
    check_event_log(verdict, att.event_log, claimed)
    check_pcr16(verdict, trusted, computation)
    check_boot_pcrs(verdict, trusted, reference_pcrs)
    return verdict


def _decode(verdict: Verdict, attestation: VtpmAttestation | bytes) -> VtpmAttestation | None:
    if isinstance(attestation, VtpmAttestation):
        return attestation
    try:
        att = decode_attestation(attestation)
    except EvidenceError as exc:
        verdict.add(verify_check("vtpm.evidence.parse", False, f"This is not readable vTPM evidence: {exc}."))
        return None
    verdict.add(verify_check("vtpm.evidence.parse", True, "The vTPM evidence is a well-formed attest.Attestation.",
                             actual=f"{len(att.quotes)} quote(s)"))
    return att


def _check_binding(verdict: Verdict, att: VtpmAttestation, report: AttestationReport | bytes | None,
                   binding_hash: bytes | None) -> None:
    check_id = "vtpm.ak.binding"
    if report is None:
        verdict.add(verify_check(check_id, False, (
            "The SNP part of the evidence is still in its protobuf form (sevsnp.Attestation); rebuild the "
            "1184-byte report from it and pass it as snp_report, so the TPM key can be tied to the TEE."
            if att.sev_snp_attestation else
            "No SNP report accompanies the TPM evidence, so nothing ties the TPM's key to genuine AMD "
            "hardware; a software TPM could have made these quotes.")))
        return
    if not isinstance(report, AttestationReport):
        try:
            report = parse_report(report)
        except EvidenceError as exc:
            verdict.add(verify_check(check_id, False, f"The SNP report that should bind the TPM key cannot "
                                     f"be read: {exc}."))
            return
    if binding_hash is None:
        verdict.add(verify_check(check_id, False,
                                 "No session binding value was supplied, so the TPM key cannot be shown to "
                                 "belong to this session's TEE (a relayed report would pass)."))
        return
    expected = report_data_for(binding_hash, att.ak_pub)
    ok = hmac.compare_digest(report.report_data, expected)
    verdict.add(verify_check(
        check_id, ok,
        "The SNP report binds this TPM attestation key and this session: the quotes come from the TPM "
        "inside this TEE." if ok else "The SNP report does not bind this TPM attestation key for this "
        "session: the key belongs to another VM or session, or the evidence was relayed.",
        expected=expected.hex(), actual=report.report_data.hex()))


def _check_ak(verdict: Verdict, ak_pub: bytes) -> rsa.RSAPublicKey | None:
    try:
        public = parse_public(ak_pub)
        key = public.public_key()
    except EvidenceError as exc:
        verdict.add(verify_check("vtpm.ak.parse", False, f"The attestation key cannot be read: {exc}."))
        return None
    problems = _ak_problems(public, key)
    verdict.add(verify_check(
        "vtpm.ak.parse", not problems,
        "The attestation key is an RSA restricted signing key of the TPM (RSASSA, SHA-256)." if not problems
        else "The attestation key is not one the TPM could only use for quotes: " + "; ".join(problems) + ".",
        expected="RSA >= 2048, restricted|sign|fixedTPM, RSASSA/SHA-256",
        actual=_describe(public)))
    return key if not problems and isinstance(key, rsa.RSAPublicKey) else None


def _ak_problems(public: TpmtPublic, key: object) -> list[str]:
    problems = []
    if public.rsa is None or not isinstance(key, rsa.RSAPublicKey):
        return [f"it is a {alg_name(public.type)} key, and this app checks RSA attestation keys"]
    if public.rsa.key_bits < _MIN_RSA_BITS:
        problems.append(f"it has only {public.rsa.key_bits} bits")
    if not public.is_restricted_signing_key:
        # an unrestricted key signs any digest, so the guest could forge a quote with it
        problems.append("it is not a restricted, TPM-bound signing key, so software could forge quotes")
    if public.scheme != TpmAlg.RSASSA or public.scheme_hash != TpmAlg.SHA256:
        problems.append(f"its scheme is {alg_name(public.scheme)}/{alg_name(public.scheme_hash or 0)}")
    return problems


def _describe(public: TpmtPublic) -> str:
    bits = f"{public.rsa.key_bits}-bit " if public.rsa else ""
    return (f"{bits}{alg_name(public.type)}, attributes 0x{public.object_attributes:08x}, "
            f"scheme {alg_name(public.scheme)}/{alg_name(public.scheme_hash or 0)}")
