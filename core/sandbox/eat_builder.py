"""Encode the Cocos EAT as the attestation-service does: CBOR COSE_Sign1 (ATTESTATION.md §1.1).

Protected header ``{1: -7}`` (ES256), unprotected ``{4: b"cocos-attestation-service"}``, a CBOR
claims payload and a 64-byte r||s signature. Like the real service, the signing key is an
ephemeral P-256 key made when the service starts; it certifies nothing, and only ``raw_report``
carries trust.
"""

from __future__ import annotations

import time

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from core.attestation.eat_wrappers import encode_sevsnp_attestation
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.vtpm.algorithms import TpmAlg, alg_name
from core.attestation.vtpm.attestation import VtpmAttestation, encode_attestation

ISSUER = "cocos-attestation-service"
COSE_SIGN1 = 18
ALG_ES256 = -7
AMD_OEMID = 3704
EAT_LIFETIME = 300           # exp = iat + 300 s
SEV_PRODUCT_MILAN = 1        # sevsnp.SevProductName.MILAN


class AttestationServiceKey:
    """The per-start ES256 key of the simulated attestation-service."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def snp_raw_report(report: bytes, *, vcek_der: bytes, ask_der: bytes, ark_der: bytes) -> bytes:
    """The ``sevsnp.Attestation`` protobuf the agent's direct provider puts in ``raw_report``.

    The real provider stores the ASK in ``ark_cert`` and the ARK in ``ask_cert`` (§1.2,
    COCOS-PROTOCOL.md §14 #17); we reproduce that swap so clients are tested against it.
    """
    return encode_sevsnp_attestation(report, vcek=vcek_der, ask=ark_der, ark=ask_der,
                                     product=SEV_PRODUCT_MILAN)


def _sevsnp_copies(r: AttestationReport) -> dict[str, object]:
    # Convenience copies only (§1.1): a verifier re-derives everything from raw_report.
    return {
        "measurement": r.measurement, "tcb": f"current:{r.current_tcb.raw},reported:{r.reported_tcb.raw}",
        "platform_info": r.platform_info.raw, "policy": r.policy.raw, "family_id": r.family_id,
        "image_id": r.image_id, "vmpl": r.vmpl, "signature_algo": r.signature_algo,
        "current_tcb": r.current_tcb.raw, "reported_tcb": r.reported_tcb.raw, "chip_id": r.chip_id,
        "committed_tcb": r.committed_tcb.raw, "launch_tcb": r.launch_tcb.raw,
        "signature": r.raw[0x2A0:0x330],
    }


def snp_claims(report: bytes, raw_report: bytes, nonce: bytes, *, platform_type: str = "SNP",
               now: int | None = None) -> dict[object, object]:
    """The claims map for ``platform_type`` SNP or SNP-vTPM (integer keys per RFC 9711 / RFC 8392)."""
    parsed = parse_report(report)
    iat = int(time.time()) if now is None else now
    return {
        1: ISSUER, 6: iat, 4: iat + EAT_LIFETIME, 10: nonce, 256: parsed.chip_id, 258: AMD_OEMID,
        259: f"SEV-SNP-{parsed.version}".encode("ascii"), 263: 2, 262: 1, 265: parsed.measurement,
        "platform_type": platform_type, "x-cocos-sevsnp": _sevsnp_copies(parsed), "raw_report": raw_report,
    }


def vtpm_claims(att: VtpmAttestation, nonce: bytes, *, now: int | None = None) -> dict[object, object]:
    """The claims map for ``platform_type`` vTPM: quotes only, no TEE report (ATTESTATION.md §1.1-§1.2).

    ueid is PCR0[0:16] and measurements PCR0 of the SHA-256 bank; no oemid or hwmodel is claimed,
    since nothing below the TPM vouches for the platform.
    """
    sha256 = att.bank(TpmAlg.SHA256)
    pcr0 = dict(sha256.values).get(0, b"") if sha256 is not None else b""
    quote = next((q.quote for q in att.quotes if q.pcrs.hash_alg == TpmAlg.SHA256), b"")
    pcrs = {f"{alg_name(q.pcrs.hash_alg)}:{index}": value.hex() for q in att.quotes for index, value in q.pcrs.values}
    iat = int(time.time()) if now is None else now
    return {
        1: ISSUER, 6: iat, 4: iat + EAT_LIFETIME, 10: nonce, 256: pcr0[:16] or None, 263: 2, 262: 1,
        265: pcr0 or None, "platform_type": "vTPM",
        "x-cocos-vtpm": {"pcrs": pcrs, "event_log": att.event_log, "quote": quote},
        "raw_report": encode_attestation(att),
    }


def encode_cose_eat(claims: dict[object, object], key: AttestationServiceKey) -> bytes:
    """Tag 18 over [protected, unprotected, payload, signature], signed over the Sig_structure."""
    protected = cbor2.dumps({1: ALG_ES256})
    payload = cbor2.dumps(claims)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    unprotected = {4: ISSUER.encode("ascii")}
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1, [protected, unprotected, payload, key.sign(to_sign)]))
