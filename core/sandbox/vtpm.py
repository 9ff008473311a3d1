"""The simulated vTPM of an SNP-vTPM sandbox CVM (ATTESTATION.md §1.5, §4).

Like the SVSM vTPM, it has a fresh RSA-2048 attestation key per boot (no certificate), PCR banks
SHA-256 and SHA-384 with PCR16 extended by the manifest (COCOS-PROTOCOL.md §6.2-§6.3), and signs
TPM2 quotes (RSASSA-PKCS1-v1_5/SHA-256) whose extraData is the vTPM nonce. The quotes and the
AK travel in an ``attest.Attestation``; the SNP report binds the AK through REPORT_DATA =
SHA3-512(teeNonce64 ‖ ak_pub).
"""

from __future__ import annotations

import hashlib
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.attestation import PcrBank, Quote, VtpmAttestation, encode_attestation
from core.attestation.vtpm.public import build_rsa_public
from core.attestation.vtpm.structures import build_attest, build_signature, pcr_composite_digest
from core.cocos.computation import Computation
from core.cocos.go_json import go_json
from core.errors import BadInput

QUOTED_PCRS = tuple(range(24))
PCR16 = 16
_BANKS = {TpmAlg.SHA256: ("sha256", 32), TpmAlg.SHA384: ("sha384", 48)}
#: a fixed "firmware" value in PCR0 so boot PCRs are not all zero (it measures nothing real)
_PCR0 = {TpmAlg.SHA256: hashlib.sha256(b"prism sandbox firmware").digest(),
         TpmAlg.SHA384: hashlib.sha384(b"prism sandbox firmware").digest()}


class SandboxVtpm:
    """One boot of the vTPM: its AK and PCR values live only as long as this object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ak: rsa.RSAPrivateKey | None = None
        self.pcrs: dict[int, dict[int, bytes]] = {
            alg: {i: (_PCR0[alg] if i == 0 else bytes(size)) for i in QUOTED_PCRS}
            for alg, (_, size) in _BANKS.items()}

    def _key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._ak is None:
                self._ak = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._ak

    def ak_pub(self) -> bytes:
        """The attestation key as a TPMT_PUBLIC (restricted RSASSA/SHA-256 signing key)."""
        return build_rsa_public(self._key().public_key())

    def extend_manifest(self, computation: Computation) -> None:
        """Extend PCR16 of each bank with the manifest, as the agent does once per computation.

        From zero this gives ``expected_pcr16``; a CVM reused after a stop accumulates (§14 #19).
        """
        document = go_json(computation, for_pcr16=True)
        sha256, sha384 = self.pcrs[TpmAlg.SHA256], self.pcrs[TpmAlg.SHA384]
        sha256[PCR16] = hashlib.sha256(sha256[PCR16] + hashlib.sha3_256(document).digest()).digest()
        sha384[PCR16] = hashlib.sha384(sha384[PCR16] + hashlib.sha3_384(document).digest()).digest()

    def quote(self, nonce: bytes, hash_alg: int) -> Quote:
        values = self.pcrs[hash_alg]
        digest = pcr_composite_digest([values[i] for i in QUOTED_PCRS], TpmAlg.SHA256)
        attest = build_attest(extra_data=nonce, selections=[(hash_alg, QUOTED_PCRS)], pcr_digest=digest)
        signature = self._key().sign(attest, padding.PKCS1v15(), hashes.SHA256())
        return Quote(attest, build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=signature),
                     PcrBank.of(hash_alg, values))

    def evidence(self, nonce: bytes, sev_snp_attestation: bytes = b"") -> VtpmAttestation:
        """AK and one quote per bank over ``nonce`` (≤ 32 bytes); without an SNP part it is vTPM-only."""
        if len(nonce) > 32:
            raise BadInput(f"a vTPM nonce has at most 32 bytes; this one has {len(nonce)}")
        quotes = tuple(self.quote(nonce, alg) for alg in _BANKS)
        return VtpmAttestation(ak_pub=self.ak_pub(), quotes=quotes, sev_snp_attestation=sev_snp_attestation or None)

    def attestation(self, nonce: bytes, sev_snp_attestation: bytes) -> bytes:
        """An ``attest.Attestation``: AK, one quote per bank over ``nonce`` (≤ 32 bytes), SNP part."""
        return encode_attestation(self.evidence(nonce, sev_snp_attestation))

