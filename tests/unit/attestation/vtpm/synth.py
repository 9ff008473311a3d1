"""Synthetic SNP-vTPM evidence for machines without the shared corpus.

A generated RSA-2048 attestation key in go-tpm-tools' default template, a firmware event log,
quotes over PCRs 0-23 of each bank (PCR16 extended once with a manifest's SHA3 digests, as the
agent does), and an SNP report (signed by the SNP synthetic chain) whose REPORT_DATA binds the AK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.attestation.vtpm.algorithms import TpmAlg, digest_size, extend
from core.attestation.vtpm.attestation import PcrBank, Quote, VtpmAttestation
from core.attestation.vtpm.eventlog import EV_EFI_ACTION, EV_SEPARATOR, EventSpec, build_event_log, parse_event_log
from core.attestation.vtpm.structures import (
    PcrSelection, build_attest, build_rsa_public, build_signature, pcr_composite_digest,
)
from core.attestation.vtpm.verify import report_data_for
from core.cocos.computation import Algorithm, Computation, Dataset, ResultConsumer
from core.cocos.go_json import go_json
from tests.unit.attestation.snp.synth import MILAN_TCB, build_report

NONCE = hashlib.sha256(b"exported value of this session").digest()
BINDING_PREFIX = hashlib.sha512(b"binding of this session").digest()
BANKS = (TpmAlg.SHA256, TpmAlg.SHA384)
PCRS = tuple(range(24))


@lru_cache(maxsize=None)
def ak_key(label: str = "ak") -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def computation(name: str = "demo") -> Computation:
    """A small manifest with one dataset and an algorithm (the same shape as COCOS-PROTOCOL §6.3)."""
    key = bytes(44)
    return Computation(
        id="1", name=name, description="demo computation",
        datasets=(Dataset(hash=hashlib.sha3_256(b"a,b\n1,2\n").digest(), user_key=key, filename="data.csv"),),
        algorithm=Algorithm(hash=hashlib.sha3_256(b"print('hello')\n").digest(), user_key=key,
                            algo_type="python", algo_args=("datasets/data.csv",)),
        result_consumers=(ResultConsumer(user_key=key),))


def boot_events() -> list[EventSpec]:
    events = [EventSpec(0, 0x80000008, b"firmware volume"), EventSpec(1, 0x80000006, b"boot order"),
              EventSpec(4, 0x80000003, b"shim"), EventSpec(4, 0x80000003, b"grub"),
              EventSpec(9, 0x0000000D, b"kernel cmdline"), EventSpec(7, 0x800000E0, b"secure boot off")]
    events += [EventSpec(i, EV_SEPARATOR, b"\x00\x00\x00\x00") for i in range(8)]
    events.append(EventSpec(5, EV_EFI_ACTION, b"Exit Boot Services Invocation"))
    return events


def event_log(startup_locality: int | None = 3) -> bytes:
    return build_event_log(boot_events(), banks=(TpmAlg.SHA1, *BANKS), startup_locality=startup_locality)


def pcr_values(log: bytes, manifest: Computation | None) -> dict[int, dict[int, bytes]]:
    """What a TPM would hold after this boot and (if given) one PCR16 extend with the manifest."""
    replayed = parse_event_log(log).replay()
    out: dict[int, dict[int, bytes]] = {}
    for alg in BANKS:
        size = digest_size(alg)
        values = {i: replayed[alg].get(i, bytes(size)) for i in PCRS}
        if manifest is not None:
            sha3 = hashlib.sha3_256 if alg == TpmAlg.SHA256 else hashlib.sha3_384
            values[16] = extend(alg, bytes(size), sha3(go_json(manifest, for_pcr16=True)).digest())
        out[alg] = values
    return out


def sign(quote: bytes, key: rsa.RSAPrivateKey | None = None) -> bytes:
    sig = (key or ak_key()).sign(quote, padding.PKCS1v15(), hashes.SHA256())
    return build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=sig)


def make_quote(alg: int, values: dict[int, bytes], nonce: bytes = NONCE, *,
               selection: tuple[PcrSelection, ...] | None = None, key: rsa.RSAPrivateKey | None = None,
               **attest: object) -> Quote:
    digest = pcr_composite_digest([values[i] for i in sorted(values)])
    quote = build_attest(extra_data=nonce, selections=selection or ((alg, sorted(values)),),
                         pcr_digest=digest, **attest)  # type: ignore[arg-type]
    return Quote(quote, sign(quote, key), PcrBank.of(alg, values))


@dataclass(frozen=True)
class Evidence:
    attestation: VtpmAttestation
    manifest: Computation
    nonce: bytes = NONCE
    binding_prefix: bytes = BINDING_PREFIX


def make_evidence(*, manifest: Computation | None = None, nonce: bytes = NONCE,
                  binding_prefix: bytes = BINDING_PREFIX, ak_pub: bytes | None = None,
                  report_ak_pub: bytes | None = None, log: bytes | None = None,
                  with_report: bool = True) -> Evidence:
    """Good evidence by default; each keyword lets a test change one ingredient."""
    manifest = manifest if manifest is not None else computation()
    ak_pub = ak_pub if ak_pub is not None else build_rsa_public(ak_key().public_key())
    log = log if log is not None else event_log()
    values = pcr_values(event_log(), manifest)
    quotes = tuple(make_quote(alg, values[alg], nonce) for alg in BANKS)
    report = None
    if with_report:
        bound = report_data_for(binding_prefix, report_ak_pub if report_ak_pub is not None else ak_pub)
        report = build_report(reported_tcb=MILAN_TCB, report_data=bound, vmpl=2)
    att = VtpmAttestation(ak_pub=ak_pub, quotes=quotes, event_log=log, snp_report=report)
    return Evidence(att, manifest, nonce, binding_prefix)
