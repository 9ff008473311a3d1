"""The verifier against authenticators we build ourselves (runs on a fresh machine)."""

from __future__ import annotations

import pytest

from core.atls import build_authenticator, make_request, verify_authenticator
from core.atls.binding import compute_binder
from core.atls.checks import (
    BINDER, CERTIFICATE_VERIFY, CONTEXT, EAT_NONCE, FINISHED, REPORT_DATA_BINDING, TLS_LEAF,
)
from core.atls.cmw import encode_cmw_payload
from core.atls.errors import AtlsProtocolError
from core.atls.frames import Certificate, parse_authenticator, parse_request
from core.atls.spki import raw_spki
from core.attestation.eat import decode_eat
from core.attestation.verdict import Status
from tests.unit.atls.helpers import (
    CONTEXT as REQUEST_CONTEXT, bound_report_data, flip, leaf_der, leaf_key, make_session, raw_report_for,
    tdx_report_data_quote, with_exporters,
)

ALL = (CONTEXT, CERTIFICATE_VERIFY, FINISHED, BINDER, EAT_NONCE, REPORT_DATA_BINDING)


def verify(session, **kw):
    return verify_authenticator(session.request, session.authenticator, session.exporters, **kw)


def failed(result) -> set[str]:
    return {c.id for c in result.checks if c.status is Status.FAIL}


@pytest.mark.parametrize("platform,hash_name,form,kind", [
    ("SNP", "sha256", "cose", "p256"),
    ("SNP", "sha384", "cose", "p256"),
    ("SNP-vTPM", "sha256", "cose", "p256"),
    ("SNP", "sha256", "jwt", "rsa"),
    ("SNP", "sha256", "cose", "ed25519"),
])
def test_a_correctly_bound_session_passes_every_check(platform, hash_name, form, kind):
    s = make_session(platform=platform, hash_name=hash_name, form=form, kind=kind)
    result = verify(s, tls_leaf_der=s.leaf)
    assert [c.id for c in result.checks] == [*ALL, TLS_LEAF]
    assert failed(result) == set() and result.passed
    assert result.verdict().authentic
    assert result.eat is not None and result.eat.form == form
    assert result.hardware is not None and result.hardware.report_data == result.expected_report_data
    assert result.expected_report_data == bound_report_data(platform, s.leaf, s.exporters)


def test_tdx_session_binds_through_the_quote():
    s0 = make_session()
    data = bound_report_data("TDX", s0.leaf, s0.exporters)
    s = make_session(platform="TDX", form="jwt", raw_report=tdx_report_data_quote(data))
    result = verify(s)
    assert failed(result) == set()
    assert result.hardware.platform == "tdx" and result.verdict().platform == "tdx"


def test_unbound_report_is_a_relay_and_fails_only_the_binding():
    result = verify(make_session(bound=False))
    assert failed(result) == {REPORT_DATA_BINDING}
    check = result.get(REPORT_DATA_BINDING)
    assert check.actual == ("42" * 64) and "relayed" in check.explanation
    assert not result.verdict().authentic


def test_vtpm_report_bound_without_the_ak_fails():
    s0 = make_session()
    plain = bound_report_data("SNP", s0.leaf, s0.exporters)  # SHA-512(binding), AK not mixed in
    result = verify(make_session(platform="SNP-vTPM", raw_report=raw_report_for("SNP-vTPM", plain)))
    assert failed(result) == {REPORT_DATA_BINDING}


def test_eat_for_another_nonce_fails_only_the_nonce():
    result = verify(make_session(nonce=b"\x00" * 32))
    assert failed(result) == {EAT_NONCE}
    assert result.get(EAT_NONCE).actual == "00" * 32


def test_binder_made_for_another_session_fails_only_the_binder():
    s0 = make_session()
    other = compute_binder(raw_spki(s0.leaf), b"\xbb" * 32, s0.exporters.hash)
    s = make_session(cmw_payload=encode_cmw_payload(s0.eat, other.aik_pub_hash, other.binding))
    result = verify(s)
    assert failed(result) == {BINDER}
    assert "attestation binding mismatch" in result.get(BINDER).explanation


def test_binder_for_another_key_fails_the_binder():
    s0 = make_session()
    other = compute_binder(raw_spki(leaf_der("rsa")), s0.exporters.attestation, s0.exporters.hash)
    s = make_session(cmw_payload=encode_cmw_payload(s0.eat, other.aik_pub_hash, other.binding))
    explanation = verify(s).get(BINDER).explanation
    assert "AIK public key hash mismatch" in explanation and "binding mismatch" in explanation


def test_wrong_exporter_label_fails_the_binder():
    s0 = make_session()
    b = compute_binder(raw_spki(s0.leaf), s0.exporters.attestation, s0.exporters.hash)
    s = make_session(cmw_payload=encode_cmw_payload(s0.eat, b.aik_pub_hash, b.binding, "Other"))
    assert failed(verify(s)) == {BINDER}


@pytest.mark.parametrize("part,expected", [("cv", {CERTIFICATE_VERIFY, FINISHED}),
                                           ("finished", {FINISHED}),
                                           ("leaf", {CERTIFICATE_VERIFY, FINISHED}),
                                           ("eat", {CERTIFICATE_VERIFY, FINISHED})])
def test_flipped_bytes_fail_the_right_checks(part, expected):
    s = make_session()
    auth = parse_authenticator(s.authenticator, 32)
    cert_len = len(auth.certificate_raw)
    index = {"cv": cert_len + len(auth.certificate_verify_raw) - 3,
             "finished": len(s.authenticator) - 1,
             "leaf": s.authenticator.index(s.leaf) + len(s.leaf) - 5,  # inside the leaf's signature
             "eat": s.authenticator.index(s.leaf) + len(s.leaf) + 200}[part]
    result = verify_authenticator(s.request, flip(s.authenticator, index), s.exporters)
    if part == "eat":  # the EAT itself may or may not still decode; the signatures catch it
        assert expected <= failed(result) and BINDER not in failed(result)
    else:
        assert failed(result) == expected


def test_wrong_exporters_fail_the_checks_they_key():
    s = make_session()
    assert failed(verify(with_exporters(s, finished_key=b"\x23" * 32))) == {FINISHED}
    assert failed(verify(with_exporters(s, handshake_context=b"\x12" * 32))) == {CERTIFICATE_VERIFY, FINISHED}
    assert failed(verify(with_exporters(s, attestation=b"\xab" * 32))) == {
        BINDER, EAT_NONCE, REPORT_DATA_BINDING}


def test_context_mismatch_is_reported():
    s = make_session()
    other = make_session().request.replace(REQUEST_CONTEXT, b"\x99" * 32)
    result = verify_authenticator(other, s.authenticator, s.exporters)
    assert CONTEXT in failed(result)
    assert "certificate_request_context mismatch" in result.get(CONTEXT).explanation


def test_scheme_not_offered_fails_certificate_verify():
    s = make_session()
    narrow = make_request(REQUEST_CONTEXT, (0x0807,))  # same context, no P-256 offered
    result = verify_authenticator(narrow, s.authenticator, s.exporters)
    assert CERTIFICATE_VERIFY in failed(result)
    assert "did not offer" in result.get(CERTIFICATE_VERIFY).explanation


def test_server_side_refuses_when_no_offered_scheme_fits_its_key():
    s = make_session()
    with pytest.raises(AtlsProtocolError, match="unsupported signature scheme"):
        build_authenticator(make_request(REQUEST_CONTEXT, (0x0807,)), [s.leaf], leaf_key(), s.exporters, s.eat)


def test_tls_leaf_must_match_when_given():
    s = make_session()
    result = verify(s, tls_leaf_der=leaf_der("rsa"))
    assert failed(result) == {TLS_LEAF}


def test_garbage_evidence_is_a_failed_check_not_a_crash():
    s = make_session(raw_report=b"{\"attestation_report\": {}}")
    result = verify(s)
    assert failed(result) == {REPORT_DATA_BINDING}
    assert "attestation-agent JSON" in result.get(REPORT_DATA_BINDING).actual
    bad_eat = make_session(cmw_payload=encode_cmw_payload(b"\xd2\x84", b"x", b"y"))
    assert {EAT_NONCE, REPORT_DATA_BINDING, BINDER} <= failed(verify(bad_eat))


def test_request_without_cmw_offer_and_foreign_entry_extensions_are_refused():
    s = make_session()
    bare = make_request(REQUEST_CONTEXT, (0x0403,))
    req = parse_request(bare)
    no_cmw = type(req)(req.context, req.extensions[:1]).encode()
    with pytest.raises(AtlsProtocolError, match="does not offer cmw_attestation"):
        verify_authenticator(no_cmw, s.authenticator, s.exporters)
    auth = parse_authenticator(s.authenticator, 32)
    entries = auth.certificate.entries
    two = Certificate(auth.certificate.context, (entries[0], type(entries[0])(entries[0].cert_der, entries[0].extensions)))
    forged = two.encode() + auth.certificate_verify_raw + auth.finished_raw
    with pytest.raises(AtlsProtocolError, match="only the leaf"):
        verify_authenticator(s.request, forged, s.exporters)


def test_eat_in_the_authenticator_decodes():
    s = make_session(form="jwt")
    result = verify(s)
    assert result.eat == decode_eat(s.eat)
    assert result.cmw is not None and result.cmw.evidence == s.eat
