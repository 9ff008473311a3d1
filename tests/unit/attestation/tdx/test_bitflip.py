"""Flipping any bit of the signed region (header + body) must break the quote signature."""

from __future__ import annotations

from core.attestation.tdx.crypto import p256_key_from_raw, verify_raw
from core.attestation.tdx.quote import TdxQuote, parse_quote

from .corpus import quote_bytes
from .synth import make_quote


def _sweep(quote: TdxQuote) -> int:
    key = p256_key_from_raw(quote.auth_data.attestation_key)
    assert key is not None
    region = bytearray(quote.signed_region)
    signature = quote.auth_data.signature
    assert verify_raw(key, signature, bytes(region))  # the untouched quote verifies
    accepted = 0
    for index in range(len(region)):
        for bit in range(8):
            region[index] ^= 1 << bit
            accepted += verify_raw(key, signature, bytes(region))
            region[index] ^= 1 << bit
    return accepted


def test_every_bit_flip_of_a_real_quote_is_rejected() -> None:
    quote = parse_quote(quote_bytes("phala_tdx_v4_b0c06f_uptodate"))
    assert len(quote.signed_region) == 0x278
    assert _sweep(quote) == 0


def test_every_bit_flip_of_a_synthetic_v5_quote_is_rejected() -> None:
    quote = parse_quote(make_quote(version=5, body_type=3))
    assert len(quote.signed_region) == 702
    assert _sweep(quote) == 0
