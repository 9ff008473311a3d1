"""OCSP responses (RFC 6960) signed directly by the CA key.

A request that does not parse never raises: it gets a MALFORMED_REQUEST response, which is
what a client on the wire expects. Requests about another issuer get "unknown".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from core.ca.builder import IssuerKey, signing_hash, utc
from core.ca.reasons import reason_flag

__all__ = ["KnownStatus", "RESPONSE_VALIDITY", "build_ocsp_response", "malformed_response"]

log = logging.getLogger(__name__)

#: how long a client may cache a response (nextUpdate - thisUpdate)
RESPONSE_VALIDITY = timedelta(hours=1)
_PARSE_ERRORS = (ValueError, TypeError, NotImplementedError, UnsupportedAlgorithm, x509.InvalidVersion)


@dataclass(frozen=True, slots=True)
class KnownStatus:
    """The CA's view of one of its serials: revoked when revoked_at is set, good otherwise."""

    revoked_at: datetime | None = None
    reason: str | None = None


Lookup = Callable[[int], "KnownStatus | None"]


def malformed_response() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(Encoding.DER)


def build_ocsp_response(request_der: bytes, *, issuer: x509.Certificate, issuer_key: IssuerKey,
                        lookup: Lookup, now: datetime) -> bytes:
    """A DER OCSPResponse for ``request_der``; ``lookup`` returns None for serials the CA never issued."""
    try:
        request = ocsp.load_der_ocsp_request(bytes(request_der))
        algorithm = request.hash_algorithm
        nonce = _nonce(request)
    except _PARSE_ERRORS as exc:
        log.info("answering a malformed OCSP request: %s", exc)
        return malformed_response()
    known = lookup(request.serial_number) if _is_ours(request, issuer, algorithm) else None
    try:
        return _signed(request, algorithm, nonce, known, issuer, issuer_key, utc(now))
    except ValueError as exc:  # hashes whose length does not fit the algorithm, unsupported digests
        log.info("answering an unusable OCSP request as malformed: %s", exc)
        return malformed_response()


def _signed(request: ocsp.OCSPRequest, algorithm: hashes.HashAlgorithm, nonce: x509.OCSPNonce | None,
            known: KnownStatus | None, issuer: x509.Certificate, issuer_key: IssuerKey,
            this_update: datetime) -> bytes:
    revoked = known is not None and known.revoked_at is not None
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        serial_number=request.serial_number,
        algorithm=algorithm,
        cert_status=_cert_status(known),
        this_update=this_update,
        next_update=this_update + RESPONSE_VALIDITY,
        revocation_time=utc(known.revoked_at) if revoked else None,  # type: ignore[union-attr,arg-type]
        revocation_reason=_reason(known) if revoked else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    if nonce is not None:
        # RFC 8954: echo the client's nonce so it can bind the response to its request.
        builder = builder.add_extension(nonce, critical=False)
    return builder.sign(issuer_key, signing_hash(issuer_key)).public_bytes(Encoding.DER)


def _reason(known: KnownStatus | None) -> x509.ReasonFlags | None:
    return reason_flag(known.reason) if known is not None and known.reason else None


def _cert_status(known: KnownStatus | None) -> ocsp.OCSPCertStatus:
    if known is None:
        return ocsp.OCSPCertStatus.UNKNOWN
    return ocsp.OCSPCertStatus.REVOKED if known.revoked_at else ocsp.OCSPCertStatus.GOOD


def _nonce(request: ocsp.OCSPRequest) -> x509.OCSPNonce | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        return None


def _is_ours(request: ocsp.OCSPRequest, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bool:
    """Compare the request's issuer hashes with ours, computed with the algorithm the client chose."""
    # A throwaway request for our own certificate yields the exact CertID hashes RFC 6960 defines
    # (name DER and public-key BIT STRING), without hand-parsing the SubjectPublicKeyInfo.
    try:
        reference = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, algorithm).build()
    except _PARSE_ERRORS:
        return False
    return (request.issuer_name_hash == reference.issuer_name_hash
            and request.issuer_key_hash == reference.issuer_key_hash)
