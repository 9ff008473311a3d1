"""Step 3 of ATTESTATION.md §4.1: each quote's signature, structure, nonce, PCR selection and digest.

Every quote is checked on its own; the findings fold into one Check per id (``checks.Findings``).
A quote whose bytes cannot be parsed still gets its signature checked, since the signature covers
the raw bytes and tells the user whether the TPM produced them.
"""

from __future__ import annotations

import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.attestation.verdict import Verdict
from core.attestation.vtpm.algorithms import HASHES, TpmAlg, alg_name
from core.attestation.vtpm.attestation import PcrBank, Quote
from core.attestation.vtpm.checks import Findings
from core.attestation.vtpm.errors import TpmStructureError
from core.attestation.vtpm.structures import (
    ATTEST_QUOTE, TPM_GENERATED, QuoteInfo, TpmsAttest, parse_attest, parse_signature, pcr_composite_digest,
)

_IDS = ("vtpm.quote.signature", "vtpm.quote.magic", "vtpm.quote.nonce", "vtpm.pcr.selection",
        "vtpm.pcr.digest")


def label(n: int, quote: Quote) -> str:
    return f"quote {n} ({quote.pcrs.name} bank)"


def check_quotes(verdict: Verdict, quotes: tuple[Quote, ...], key: rsa.RSAPublicKey | None,
                 expected_nonce: bytes) -> dict[int, PcrBank]:
    """Append the five quote checks; return the banks whose signature, structure, selection and
    digest all hold (the only PCR values later checks may rely on)."""
    found = {check_id: Findings(check_id) for check_id in _IDS}
    trusted: dict[int, PcrBank] = {}
    seen: set[int] = set()
    if not quotes:
        for f in found.values():
            f.add(False, "the evidence carries no quotes at all")
    for n, quote in enumerate(quotes, 1):
        name = label(n, quote)
        sig_ok = _signature(found["vtpm.quote.signature"], name, quote, key)
        attest = _parse(found["vtpm.quote.magic"], name, quote)
        if attest is None or attest.quote is None:
            for check_id in _IDS[2:]:
                found[check_id].add(None, f"{name} could not be read")
            continue
        _nonce(found["vtpm.quote.nonce"], name, attest, expected_nonce)
        selection_ok = _selection(found["vtpm.pcr.selection"], name, attest.quote, quote.pcrs, seen)
        digest_ok = _digest(found["vtpm.pcr.digest"], name, attest.quote, quote.pcrs)
        seen.add(quote.pcrs.hash_alg)
        # Index -> value pairs are only as good as the selection that orders them under the digest.
        if sig_ok and attest.is_tpm_generated and selection_ok and digest_ok:
            trusted[quote.pcrs.hash_alg] = quote.pcrs
    _emit(verdict, found, expected_nonce)
    return trusted


def _signature(f: Findings, name: str, quote: Quote, key: rsa.RSAPublicKey | None) -> bool:
    if key is None:
        f.add(None, "no usable attestation key")
        return False
    try:
        sig = parse_signature(quote.raw_sig)
    except TpmStructureError as exc:
        f.add(False, f"{name}: {exc}")
        return False
    if sig.sig_alg != TpmAlg.RSASSA or sig.hash_alg != TpmAlg.SHA256:
        f.add(False, f"{name} is signed with {alg_name(sig.sig_alg)}/{alg_name(sig.hash_alg or 0)}, "
                     "not RSASSA/SHA-256")
        return False
    try:
        key.verify(sig.signature, quote.quote, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        f.add(False, f"{name}: the signature does not verify with the AK")
        return False
    f.add(True, name)
    return True


def _parse(f: Findings, name: str, quote: Quote) -> TpmsAttest | None:
    try:
        attest = parse_attest(quote.quote)
    except TpmStructureError as exc:
        f.add(False, f"{name}: {exc}")
        return None
    problems = []
    if attest.magic != TPM_GENERATED:
        problems.append(f"magic 0x{attest.magic:08x} instead of 0x{TPM_GENERATED:08x}")
    if attest.type != ATTEST_QUOTE:
        problems.append(f"type 0x{attest.type:04x} instead of 0x{ATTEST_QUOTE:04x} (quote)")
    f.add(not problems, f"{name}: {', '.join(problems)}" if problems else name)
    return attest


def _nonce(f: Findings, name: str, attest: TpmsAttest, expected: bytes) -> None:
    ok = hmac.compare_digest(attest.extra_data, expected)
    f.add(ok, name if ok else f"{name} carries nonce {attest.extra_data.hex() or '(empty)'}")


def _selection(f: Findings, name: str, info: QuoteInfo, bank: PcrBank, seen: set[int]) -> bool:
    problems = []
    selected = [s for s in info.pcr_select if s.indexes]
    banks = [s.hash_alg for s in selected]
    if banks != [bank.hash_alg]:
        problems.append(f"it selects banks [{', '.join(alg_name(b) for b in banks)}] but reports "
                        f"{bank.name} values")
    elif selected[0].indexes != bank.indexes:
        problems.append(f"it selects PCRs {list(selected[0].indexes)} but reports PCRs {list(bank.indexes)}")
    if bank.hash_alg not in HASHES:
        problems.append(f"its bank {bank.name} is not a hash this app knows")
    else:
        size = HASHES[bank.hash_alg][1]
        wrong = [i for i, v in bank.values if len(v) != size]
        if wrong:
            problems.append(f"PCRs {wrong} are not {size}-byte {bank.name} values")
    if bank.hash_alg in seen:
        problems.append(f"another quote already reported the {bank.name} bank")
    f.add(not problems, f"{name}: {'; '.join(problems)}" if problems else f"{name}: PCRs {list(bank.indexes)}")
    return not problems


def _digest(f: Findings, name: str, info: QuoteInfo, bank: PcrBank) -> bool:
    # The composite uses the signing scheme's hash (SHA-256) whatever the bank's hash is.
    computed = pcr_composite_digest((v for _, v in bank.values), TpmAlg.SHA256)
    ok = hmac.compare_digest(computed, info.pcr_digest)
    f.add(ok, name if ok else f"{name}: signed digest {info.pcr_digest.hex()}, values hash to "
                             f"{computed.hex()}")
    return ok


def _emit(verdict: Verdict, found: dict[str, Findings], nonce: bytes) -> None:
    verdict.add(found["vtpm.quote.signature"].check(
        "Every quote is signed by the attestation key, so its contents come from the TPM.",
        "A quote's signature does not check out: it was altered or signed by another key",
        "The quote signatures could not be checked without a usable attestation key"))
    verdict.add(found["vtpm.quote.magic"].check(
        "Every quote is a TPM-generated quote structure.",
        "A quote is not a TPM-generated quote structure",
        "No quote could be read"))
    verdict.add(found["vtpm.quote.nonce"].check(
        "Every quote carries the nonce this app asked for, so it is fresh and made for this session.",
        "A quote carries a different nonce: it is a replay or was made for another session",
        "The quote nonces could not be checked", expected=nonce.hex()))
    verdict.add(found["vtpm.pcr.selection"].check(
        "Each quote covers exactly the PCRs it reports.",
        "A quote's PCR selection does not match the PCR values sent with it",
        "The PCR selections could not be checked"))
    verdict.add(found["vtpm.pcr.digest"].check(
        "The reported PCR values are exactly the ones the TPM signed.",
        "Reported PCR values differ from what the TPM signed",
        "The PCR digests could not be checked"))
