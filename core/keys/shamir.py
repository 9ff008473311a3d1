"""Shamir secret sharing over GF(2^8) (the AES field, polynomial x^8 + x^4 + x^3 + x + 1).

Each byte of the secret is the constant term of its own random polynomial of degree k-1;
share i is the polynomials evaluated at x = i. Any k shares give the constant terms back by
Lagrange interpolation at 0; fewer than k reveal nothing about the secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from core.errors import BadInput


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        # multiply by the generator 3: value * 2 (reduced) XOR value
        doubled = value << 1
        if doubled & 0x100:
            doubled ^= 0x11B
        value = doubled ^ value
    for power in range(255, 510):  # doubled so products need no modulo
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def _evaluate(coefficients: list[int], x: int) -> int:
    result = 0
    for coefficient in reversed(coefficients):  # Horner's rule
        result = _mul(result, x) ^ coefficient
    return result


def split(secret: bytes, threshold: int, shares: int) -> list[tuple[int, bytes]]:
    """``shares`` pairs (x, y) with x = 1..n; any ``threshold`` of them rebuild ``secret``."""
    if not isinstance(secret, (bytes, bytearray)) or not secret:
        raise BadInput("the secret to split must be non-empty bytes")
    for name, value in (("threshold", threshold), ("share count", shares)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadInput(f"the {name} must be an integer, got {value!r}")
    if not 2 <= threshold <= shares <= 255:
        raise BadInput(
            f"cannot split into {shares} shares with threshold {threshold}: "
            "need 2 <= threshold <= shares <= 255"
        )
    outputs = [bytearray() for _ in range(shares)]
    for byte in secret:
        coefficients = [byte, *secrets.token_bytes(threshold - 1)]
        for index, output in enumerate(outputs):
            output.append(_evaluate(coefficients, index + 1))
    return [(index + 1, bytes(output)) for index, output in enumerate(outputs)]


def combine(shares: Iterable[tuple[int, bytes]]) -> bytes:
    """The secret interpolated from the given shares (all of them are used).

    With fewer shares than the threshold the result is a random-looking wrong secret;
    callers that know the threshold must check the count (the backup format does).
    """
    points = list(shares)
    if len(points) < 2:
        raise BadInput("at least 2 shares are needed to rebuild a secret")
    xs = [x for x, _ in points]
    if any(not isinstance(x, int) or isinstance(x, bool) or not 1 <= x <= 255 for x in xs):
        raise BadInput("share indices must be integers from 1 to 255")
    if len(set(xs)) != len(xs):
        raise BadInput("the same share was given twice; give distinct shares")
    lengths = {len(y) for _, y in points}
    if len(lengths) != 1 or 0 in lengths:
        raise BadInput("the shares have different lengths; they do not belong to the same secret")
    weights = [_lagrange_weight_at_zero(xs, i) for i in range(len(xs))]
    secret = bytearray(lengths.pop())
    for weight, (_, y) in zip(weights, points):
        for position, byte in enumerate(y):
            secret[position] ^= _mul(weight, byte)
    return bytes(secret)


def _lagrange_weight_at_zero(xs: list[int], i: int) -> int:
    # prod_{j != i} x_j / (x_j - x_i); in GF(2^8) subtraction is XOR
    weight = 1
    for j, xj in enumerate(xs):
        if j != i:
            weight = _mul(weight, _div(xj, xj ^ xs[i]))
    return weight
