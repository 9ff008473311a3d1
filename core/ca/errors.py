"""Errors specific to the local CA, all inside core.errors' hierarchy."""

from __future__ import annotations

from core.errors import BadInput, CAError, CANotInitialised

__all__ = ["CANotInitialised", "InvalidCSR", "InvalidCAInput", "InvalidSAN"]


class InvalidCAInput(CAError, BadInput):
    """A name, lifetime, key or usage the CA cannot put into a certificate."""

    code = "bad-ca-input"


class InvalidSAN(InvalidCAInput):
    code = "bad-san"


class InvalidCSR(InvalidCAInput):
    """A certificate signing request that does not parse, is not self-consistent or asks too much."""

    code = "bad-csr"
