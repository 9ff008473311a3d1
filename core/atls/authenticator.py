"""Verify the server's exported authenticator (RFC 9261) and its attestation binding (§12.4-§12.6).

The transport hands in the request it sent, the authenticator it received and the exporter
values of its own TLS session; nothing here touches a socket. Wire malformations raise
``AtlsProtocolError``; everything that is well-formed but wrong becomes a failed ``Check`` so the
inspector can say precisely why the agent is refused.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography import x509

from core.atls import checks as C
from core.atls.binding import Binder, compute_binder, eat_nonce, expected_report_data
from core.atls.cmw import CmwPayload, parse_cmw_payload, unwrap_extension
from core.atls.errors import AtlsProtocolError
from core.atls.frames import (
    EXT_CMW_ATTESTATION, Authenticator, ClientCertificateRequest, Extension,
    parse_authenticator, parse_request, signature_algorithms_extension,
)
from core.atls.signing import DEFAULT_SCHEMES, certificate_verify_input
from core.atls.spki import raw_spki
from core.atls.suites import SessionExporters
from core.attestation.eat import Eat, decode_eat
from core.attestation.eat_report import HardwareReport, hardware_report
from core.attestation.verdict import Check, Status, Verdict
from core.errors import BadInput

CONTEXT_SIZE = 32


def make_request(context: bytes | None = None, schemes: tuple[int, ...] = DEFAULT_SCHEMES) -> bytes:
    """The ClientCertificateRequest (type 17) the client sends in frame 1 (§12.3).

    ``context`` defaults to 32 fresh random bytes; the agent does not track used contexts, so
    freshness is ours to guarantee.
    """
    if context is None:
        context = os.urandom(CONTEXT_SIZE)
    if not 1 <= len(context) <= 255:
        raise AtlsProtocolError(f"the certificate_request_context must be 1-255 bytes, not {len(context)}")
    extensions = (signature_algorithms_extension(schemes), Extension(EXT_CMW_ATTESTATION, b""))
    return ClientCertificateRequest(bytes(context), extensions).encode()


@dataclass(frozen=True, slots=True)
class AuthenticatorResult:
    """Everything the verification found: the checks and the values behind them."""

    checks: tuple[Check, ...]
    request: ClientCertificateRequest
    authenticator: Authenticator
    chain_der: tuple[bytes, ...]         # leaf first
    leaf_spki: bytes
    binder: Binder                       # recomputed from our own session, not the server's claim
    expected_eat_nonce: bytes            # SHA-256(exported_value)
    expected_report_data: bytes          # what the hardware evidence must carry
    cmw: CmwPayload | None
    eat: Eat | None
    hardware: HardwareReport | None

    @property
    def leaf_der(self) -> bytes:
        return self.chain_der[0]

    @property
    def passed(self) -> bool:
        return all(c.status is Status.PASS or c.status is Status.SKIP for c in self.checks)

    def get(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def verdict(self) -> Verdict:
        platform = self.hardware.platform if self.hardware else (
            self.eat.platform_type.lower() if self.eat else "unknown")
        return Verdict(platform=platform, checks=list(self.checks))


def _check_entries(request: ClientCertificateRequest, auth: Authenticator) -> None:
    """§12.6 items 3-4: a non-empty list, extensions only as offered, 0xFF00 only on the leaf."""
    entries = auth.certificate.entries
    if not entries:
        raise AtlsProtocolError("the authenticator's certificate list is empty; there is no key to "
                                "check and no attestation", code="atls-no-certificate")
    offered = {e.type for e in request.extensions}
    for index, entry in enumerate(entries):
        for ext in entry.extensions:
            if ext.type not in offered:
                raise AtlsProtocolError(f"certificate entry {index} carries extension 0x{ext.type:04x}, "
                                        "which the request did not offer")
            if ext.type == EXT_CMW_ATTESTATION and index != 0:
                raise AtlsProtocolError(f"certificate entry {index} carries cmw_attestation; only the "
                                        "leaf (entry 0) may")


def _leaf_key(leaf_der: bytes) -> object:
    try:
        return x509.load_der_x509_certificate(leaf_der).public_key()
    except (ValueError, TypeError) as exc:
        raise AtlsProtocolError(f"the authenticator's leaf certificate does not parse ({exc})",
                                code="atls-certificate") from exc


def _cmw(auth: Authenticator) -> tuple[CmwPayload | None, str]:
    ext = next((e for e in auth.certificate.entries[0].extensions if e.type == EXT_CMW_ATTESTATION), None)
    if ext is None:
        return None, "the leaf certificate carries no cmw_attestation extension, so there is no evidence"
    try:
        return parse_cmw_payload(unwrap_extension(ext.data)), ""
    except AtlsProtocolError as exc:
        return None, str(exc)


def _evidence(cmw: CmwPayload | None) -> tuple[Eat | None, HardwareReport | None, str, str]:
    """(eat, hardware, why the EAT is missing, why the hardware report is missing)."""
    if cmw is None or not cmw.evidence:
        why = "the server sent no evidence"
        return None, None, why, why
    try:
        eat = decode_eat(cmw.evidence)
    except BadInput as exc:
        return None, None, str(exc), f"the EAT does not decode: {exc}"
    try:
        return eat, hardware_report(eat.platform_type, eat.raw_report), "", ""
    except BadInput as exc:
        return eat, None, "", str(exc)


def verify_authenticator(request: bytes, authenticator: bytes, exporters: SessionExporters, *,
                         tls_leaf_der: bytes | None = None) -> AuthenticatorResult:
    """Verify frame 2 against the request we sent and our session's exporters (§12.6 items 2-9).

    ``tls_leaf_der``: the certificate the TLS handshake presented; when given, it must be the
    authenticator's leaf. Raises AtlsProtocolError for malformed or empty authenticators.
    """
    req = parse_request(request)
    if not req.offers_cmw_attestation:
        raise AtlsProtocolError("the request does not offer cmw_attestation; the server would abort")
    auth = parse_authenticator(authenticator, exporters.hash.length)
    _check_entries(req, auth)
    chain = tuple(e.cert_der for e in auth.certificate.entries)
    leaf_key, spki = _leaf_key(chain[0]), raw_spki(chain[0])
    # The transcript covers the request exactly as sent, header included (§12.4).
    h, prefix = exporters.hash, exporters.handshake_context + bytes(request) + auth.certificate_raw
    th1, th2 = h.digest(prefix), h.digest(prefix + auth.certificate_verify_raw)

    binder = compute_binder(spki, exporters.attestation, h)
    cmw, cmw_error = _cmw(auth)
    eat, hardware, eat_error, hw_error = _evidence(cmw)
    nonce = eat_nonce(exporters.attestation)
    expected = expected_report_data(hardware.platform if hardware else "", binder.binding,
                                    hardware.ak_pub if hardware else b"")
    checks = [
        C.context_check(req.context, auth.certificate.context),
        C.certificate_verify_check(leaf_key, req.signature_schemes, auth.certificate_verify,
                                   certificate_verify_input(th1)),
        C.finished_check(h.hmac(exporters.finished_key, th2), auth.finished.verify_data),
        C.binder_check(cmw, cmw_error, binder),
        C.eat_nonce_check(eat, eat_error, nonce),
        C.report_data_check(hardware, hw_error, expected),
    ]
    if tls_leaf_der is not None:
        checks.append(C.tls_leaf_check(hmac.compare_digest(tls_leaf_der, chain[0])))
    return AuthenticatorResult(
        checks=tuple(checks), request=req, authenticator=auth, chain_der=chain, leaf_spki=spki,
        binder=binder, expected_eat_nonce=nonce, expected_report_data=expected, cmw=cmw, eat=eat,
        hardware=hardware,
    )
