"""The Verdict checks of the aTLS exchange, each with a plain-language explanation."""

from __future__ import annotations

import hmac
from typing import Any

from core.atls.binding import Binder
from core.atls.cmw import ACCEPTED_LABELS, CmwPayload
from core.atls.frames import CertificateVerify
from core.atls.signing import key_fits_scheme, scheme_name, verify_signature
from core.attestation.eat import Eat
from core.attestation.eat_report import HardwareReport
from core.attestation.verdict import Check, Status

CONTEXT = "atls.context"
CERTIFICATE_VERIFY = "atls.certificate_verify"
FINISHED = "atls.finished"
BINDER = "atls.binder"
EAT_NONCE = "atls.eat.nonce"
REPORT_DATA_BINDING = "atls.report_data.binding"
TLS_LEAF = "atls.tls_leaf"


def _ok(check_id: str, explanation: str, expected: str = "", actual: str = "") -> Check:
    return Check(check_id, Status.PASS, explanation, expected, actual)


def _fail(check_id: str, explanation: str, expected: str = "", actual: str = "") -> Check:
    return Check(check_id, Status.FAIL, explanation, expected, actual)


def context_check(sent: bytes, received: bytes) -> Check:
    if hmac.compare_digest(sent, received):
        return _ok(CONTEXT, "The server answered the request this app sent on this connection.",
                   sent.hex(), received.hex())
    return _fail(CONTEXT, "ea: certificate_request_context mismatch. The server answered a different "
                 "request, so its answer may be replayed from another connection.", sent.hex(), received.hex())


def certificate_verify_check(leaf_key: Any, offered: tuple[int, ...], cv: CertificateVerify,
                             signed: bytes) -> Check:
    name = scheme_name(cv.scheme)
    if cv.scheme not in offered:
        return _fail(CERTIFICATE_VERIFY, f"ea: unsupported signature scheme. The server signed with "
                     f"{name}, which this app did not offer.",
                     ", ".join(scheme_name(s) for s in offered), name)
    if not key_fits_scheme(leaf_key, cv.scheme):
        return _fail(CERTIFICATE_VERIFY, f"The server claims a {name} signature, but its certificate's "
                     "key cannot make one.", name, type(leaf_key).__name__)
    if verify_signature(leaf_key, cv.scheme, cv.signature, signed):
        return _ok(CERTIFICATE_VERIFY, "The server proved it holds the private key of the certificate "
                   "it presented, for this very TLS session.", name, "valid signature")
    return _fail(CERTIFICATE_VERIFY, "ea: CertificateVerify signature mismatch. The signature does not "
                 "match the certificate and this session: the certificate or the message was altered, "
                 "or it was made for another connection.", "valid signature", "invalid signature")


def finished_check(expected: bytes, received: bytes) -> Check:
    if hmac.compare_digest(expected, received):
        return _ok(FINISHED, "The authenticator is complete and was made inside this TLS session.",
                   expected.hex(), received.hex())
    return _fail(FINISHED, "ea: Finished MAC mismatch. The authenticator was altered in transit or was "
                 "not made for this TLS session.", expected.hex(), received.hex())


def binder_check(cmw: CmwPayload | None, error: str, binder: Binder) -> Check:
    expected = f"aik_pub_hash={binder.aik_pub_hash.hex()} binding={binder.binding.hex()}"
    if cmw is None:
        return _fail(BINDER, "The server's certificate carries no readable attestation binder, so the "
                     "evidence cannot be tied to this connection.", expected, error)
    actual = f"aik_pub_hash={cmw.aik_pub_hash.hex()} binding={cmw.binding.hex()}"
    problems = []
    if cmw.version != 1:
        problems.append(f"payload version {cmw.version} (expected 1)")
    if cmw.exporter_label not in ACCEPTED_LABELS:
        problems.append(f"attestation: unexpected exporter label {cmw.exporter_label!r}")
    if not hmac.compare_digest(cmw.aik_pub_hash, binder.aik_pub_hash):
        problems.append("attestation: AIK public key hash mismatch")
    if not hmac.compare_digest(cmw.binding, binder.binding):
        problems.append("attestation: attestation binding mismatch")
    if problems:
        return _fail(BINDER, "The attestation is not tied to this server key and this TLS session ("
                     + "; ".join(problems) + "). It may have been taken from another connection.",
                     expected, actual)
    return _ok(BINDER, "The attestation names this server's key and this TLS session.", expected, actual)


def eat_nonce_check(eat: Eat | None, error: str, expected: bytes) -> Check:
    if eat is None:
        return _fail(EAT_NONCE, "The attestation token could not be read, so its freshness cannot be "
                     "checked.", expected.hex(), error)
    if hmac.compare_digest(eat.nonce, expected):
        return _ok(EAT_NONCE, "The attestation token was issued for this TLS session.",
                   expected.hex(), eat.nonce.hex())
    return _fail(EAT_NONCE, "The attestation token was issued for another session or request; it may "
                 "be replayed.", expected.hex(), eat.nonce.hex())


def report_data_check(hardware: HardwareReport | None, error: str, expected: bytes) -> Check:
    if hardware is None:
        return _fail(REPORT_DATA_BINDING, "The hardware evidence could not be read, so nothing shows "
                     "that a genuine TEE is at the other end of this connection.", expected.hex(), error)
    actual = hardware.report_data
    if hmac.compare_digest(actual, expected):
        return _ok(REPORT_DATA_BINDING, "The hardware report was produced for this TLS session: the "
                   "TEE itself vouches for the key you are talking to.", expected.hex(), actual.hex())
    return _fail(REPORT_DATA_BINDING, "The hardware report was produced for something else than this "
                 "TLS session (REPORT_DATA does not match). It may be a genuine report relayed from "
                 "another machine; the agent cannot be trusted.", expected.hex(), actual.hex())


def tls_leaf_check(same: bool) -> Check:
    if same:
        return _ok(TLS_LEAF, "The TLS handshake and the authenticator used the same certificate.")
    return _fail(TLS_LEAF, "The TLS handshake presented a different certificate than the attested "
                 "authenticator; the connection may be intercepted.")
