"""Shamir secret sharing over GF(256)."""

from __future__ import annotations

import itertools
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import BadInput
from core.keys import shamir


@pytest.mark.parametrize("threshold, count", [(2, 3), (3, 5), (2, 2), (5, 5)])
def test_every_k_subset_rebuilds_the_secret(threshold, count):
    secret = secrets.token_bytes(32)
    pieces = shamir.split(secret, threshold, count)
    assert [x for x, _ in pieces] == list(range(1, count + 1))
    for subset in itertools.combinations(pieces, threshold):
        assert shamir.combine(subset) == secret
    assert shamir.combine(pieces) == secret  # more than k also works


def test_fewer_than_k_shares_do_not_rebuild_the_secret():
    secret = secrets.token_bytes(32)
    pieces = shamir.split(secret, 3, 5)
    for subset in itertools.combinations(pieces, 2):
        assert shamir.combine(subset) != secret


def _secrets_reachable(fixed: list[tuple[int, bytes]], x_free: int, position: int) -> list[int]:
    """The secret byte at ``position`` that each possible value of one more share (at ``x_free``) implies."""
    reached = []
    for y in range(256):
        completed = [(x, value[position:position + 1]) for x, value in fixed] + [(x_free, bytes([y]))]
        reached.append(shamir.combine(completed)[0])
    return reached


@pytest.mark.parametrize("threshold, count", [(3, 5), (2, 3)])
def test_fewer_than_k_shares_are_consistent_with_every_secret_byte(threshold, count):
    """k-1 real shares leave all 256 values of every secret byte equally possible.

    For each candidate value there is exactly one value of the missing share that completes the
    k-1 fixed shares to that secret, so the fixed shares alone favour no value at all.
    """
    secret = secrets.token_bytes(8)
    pieces = shamir.split(secret, threshold, count)
    fixed = pieces[: threshold - 1]
    missing_x = pieces[threshold - 1][0]
    for position in range(len(secret)):
        reached = _secrets_reachable(fixed, missing_x, position)
        assert sorted(reached) == list(range(256)), f"byte {position}: some secret values are impossible"
        # and the real missing share is the one that leads to the real secret byte
        assert reached[pieces[threshold - 1][1][position]] == secret[position]


def _chi_square_uniform(values: bytes) -> float:
    expected = len(values) / 256
    counts = [0] * 256
    for value in values:
        counts[value] += 1
    return sum((count - expected) ** 2 / expected for count in counts)


@pytest.mark.parametrize("threshold, count", [(3, 5), (2, 3)])
@pytest.mark.parametrize("secret_byte", [0x00, 0xA5])
def test_fewer_than_k_shares_look_uniform_whatever_the_secret(threshold, count, secret_byte):
    """What the argument above assumes: the random coefficients make each of k-1 shares uniform.

    A constant secret split byte by byte gives thousands of independent samples; a split with
    weak coefficients (say, only a few values, or zero) fails this by hundreds of chi-square units.
    """
    pieces = shamir.split(bytes([secret_byte]) * 8192, threshold, count)
    observed = [value for _, value in pieces[: threshold - 1]]
    if threshold == 3:  # a combination of the two, to see they do not move together
        observed.append(bytes(a ^ b for a, b in zip(*observed)))
    for values in observed:
        # 255 degrees of freedom: mean 255, sd ~22.6; 400 is beyond 6 sd
        assert _chi_square_uniform(values) < 400


def test_shares_do_not_contain_the_secret():
    secret = secrets.token_bytes(32)
    for _, value in shamir.split(secret, 2, 3):
        assert value != secret and len(value) == 32


def test_known_answer_for_a_fixed_polynomial():
    # f(x) = 0x53 + 0xCA x in GF(2^8): f(1) = 0x99, f(2) = 0x53 ^ mul(0xCA, 2) = 0x53 ^ 0x8F = 0xDC
    assert shamir._mul(0xCA, 2) == 0x8F
    assert shamir._mul(0x53, 0xCA) == 0x01  # the AES field's textbook inverse pair
    assert shamir.combine([(1, b"\x99"), (2, b"\xdc")]) == b"\x53"


@pytest.mark.parametrize("threshold, count", [(1, 3), (4, 3), (2, 256), (0, 0), (True, 3)])
def test_split_validates_parameters(threshold, count):
    with pytest.raises(BadInput, match="threshold|integer"):
        shamir.split(b"secret", threshold, count)


def test_split_refuses_an_empty_secret():
    with pytest.raises(BadInput, match="non-empty"):
        shamir.split(b"", 2, 3)


@pytest.mark.parametrize("shares, match", [
    ([(1, b"a")], "at least 2"),
    ([(1, b"a"), (1, b"a")], "twice"),
    ([(0, b"a"), (1, b"b")], "1 to 255"),
    ([(1, b"a"), (256, b"b")], "1 to 255"),
    ([(1, b"ab"), (2, b"b")], "different lengths"),
    ([(1, b""), (2, b"")], "different lengths"),
])
def test_combine_validates_shares(shares, match):
    with pytest.raises(BadInput, match=match):
        shamir.combine(shares)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(2, 8), st.integers(0, 4), st.randoms())
def test_property_any_k_shares_rebuild(secret, threshold, extra, rnd):
    count = threshold + extra
    pieces = shamir.split(secret, threshold, count)
    chosen = rnd.sample(pieces, threshold)
    assert shamir.combine(chosen) == secret
