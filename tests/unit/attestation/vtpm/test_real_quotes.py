"""Real TPM 2.0 quotes (Azure vTPM evidence from the shared corpus) through our parser and quote checks.

The Azure HCL AK is published as a JWK, not a TPMT_PUBLIC, so the test wraps it in a TPMT_PUBLIC
itself; what it proves is that our TPMS_ATTEST parser, signature check and PCR digest rule agree
with quotes a real TPM produced.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.attestation.verdict import Status, Verdict
from core.attestation.vtpm.algorithms import TpmAlg
from core.attestation.vtpm.attestation import PcrBank, Quote
from core.attestation.vtpm.quotes import check_quotes
from core.attestation.vtpm.structures import ATTEST_QUOTE, TPM_GENERATED, build_signature, parse_attest
from tests.conftest import shared_testdata

SETS = ["trustee_azure_vtpm_milan_ev0", "trustee_azure_vtpm_milan_ev1", "trustee_azure_vtpm_milan_ev2"]


def _bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, list) else bytes.fromhex(str(value))


def _b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def load(name: str) -> tuple[Quote, rsa.RSAPublicKey]:
    base = shared_testdata("attestation", "snp", name)
    evidence = json.loads((base / "evidence.json").read_text())
    raw = evidence.get("quote") or evidence["tpm_quote"]
    pcrs = {i: _bytes(v) for i, v in enumerate(raw["pcrs"])}
    quote = Quote(_bytes(raw["message"]),
                  build_signature(TpmAlg.RSASSA, TpmAlg.SHA256, signature=_bytes(raw["signature"])),
                  PcrBank.of(TpmAlg.SHA256, pcrs))
    jwk = next(k for k in json.loads((base / "runtime_data.json").read_text())["keys"] if k["kid"] == "HCLAkPub")
    return quote, rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"])).public_key()


@pytest.mark.parametrize("name", SETS)
def test_real_quote_parses_and_verifies(name: str) -> None:
    quote, key = load(name)
    attest = parse_attest(quote.quote)
    assert (attest.magic, attest.type) == (TPM_GENERATED, ATTEST_QUOTE)
    assert attest.quote is not None and attest.quote.pcr_select[0].indexes == tuple(range(24))
    verdict = Verdict(platform="vtpm")
    trusted = check_quotes(verdict, (quote,), key, attest.extra_data)
    assert [(c.id, c.status) for c in verdict.checks] == [
        ("vtpm.quote.signature", Status.PASS), ("vtpm.quote.magic", Status.PASS),
        ("vtpm.quote.nonce", Status.PASS), ("vtpm.pcr.selection", Status.PASS), ("vtpm.pcr.digest", Status.PASS)]
    assert trusted[TpmAlg.SHA256] == quote.pcrs


@pytest.mark.parametrize("name", SETS[:1])
def test_real_quote_with_altered_pcr_fails_digest(name: str) -> None:
    quote, key = load(name)
    values = quote.pcrs.as_dict()
    values[0] = bytes(32)
    forged = Quote(quote.quote, quote.raw_sig, PcrBank.of(TpmAlg.SHA256, values))
    verdict = Verdict(platform="vtpm")
    check_quotes(verdict, (forged,), key, parse_attest(quote.quote).extra_data)
    assert [c.id for c in verdict.failures()] == ["vtpm.pcr.digest"]


def test_real_quote_nonce_is_the_challenge() -> None:
    quote, _ = load(SETS[0])
    assert parse_attest(quote.quote).extra_data == b"challenge"
