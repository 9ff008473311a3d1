"""OCSP through the real loopback responder (httpx, POST and GET) and directly for odd requests."""

from __future__ import annotations

import base64
import urllib.parse
from datetime import timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ca.builder import build_root
from core.ca.ocsp_server import OCSPResponder, decode_get_path
from core.errors import KeystoreLocked, Refused


def _request(cert: x509.Certificate, issuer: x509.Certificate, algorithm=None,
             nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _checked(ca, der: bytes) -> ocsp.OCSPResponse:
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    ca.certificate().public_key().verify(response.signature, response.tbs_response_bytes,
                                         ec.ECDSA(response.signature_hash_algorithm))
    assert response.responder_key_hash == ca.certificate().extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest
    return response


@pytest.fixture
def responder(ca):
    with OCSPResponder(ca) as running:
        yield running


@pytest.fixture
def client():
    with httpx.Client(timeout=10, trust_env=False) as http:
        yield http


def _post(client, url, der):
    reply = client.post(url, content=der, headers={"Content-Type": "application/ocsp-request"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/ocsp-response"
    return reply.content


def _get(client, url, der):
    encoded = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    reply = client.get(f"{url}/{encoded}")
    assert reply.status_code == 200
    return reply.content


@pytest.mark.parametrize("send", [_post, _get], ids=["POST", "GET"])
def test_good_revoked_and_unknown_over_http(ca, responder, client, clock, send):
    root = ca.certificate()
    good = x509.load_pem_x509_certificate(ca.issue("good.local").cert_pem)
    bad = x509.load_pem_x509_certificate(ca.issue("bad.local").cert_pem)
    clock.advance(minutes=10)
    revoked_at = clock.now
    ca.revoke(f"{bad.serial_number:x}", "key-compromise")
    clock.advance(minutes=10)

    answer = _checked(ca, send(client, responder.url, _request(good, root)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == good.serial_number
    assert answer.this_update_utc == clock.now and answer.next_update_utc == clock.now + timedelta(hours=1)

    answer = _checked(ca, send(client, responder.url, _request(bad, root)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_time_utc == revoked_at
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise

    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = build_root(stranger_key, "Someone else", serial=good.serial_number, not_before=clock.now,
                          not_after=clock.now + timedelta(days=1))
    answer = _checked(ca, send(client, responder.url, _request(stranger, stranger)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN  # same serial, other issuer


def test_unknown_serial_of_our_issuer(ca, responder, client, clock):
    root = ca.certificate()
    issued = x509.load_pem_x509_certificate(ca.issue("x.local").cert_pem)
    request = (ocsp.OCSPRequestBuilder()
               .add_certificate_by_hash(_request_hashes(issued, root)[0], _request_hashes(issued, root)[1],
                                        12345, hashes.SHA1())
               .build().public_bytes(serialization.Encoding.DER))
    answer = _checked(ca, _post(client, responder.url, request))
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN and answer.serial_number == 12345


def _request_hashes(cert, issuer):
    req = ocsp.load_der_ocsp_request(_request(cert, issuer))
    return req.issuer_name_hash, req.issuer_key_hash


def test_sha256_cert_ids_and_nonces_are_honoured(ca, responder, client):
    leaf = x509.load_pem_x509_certificate(ca.issue("n.local").cert_pem)
    answer = _checked(ca, _post(client, responder.url, _request(leaf, ca.certificate(), hashes.SHA256(),
                                                                nonce=b"0123456789abcdef")))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert isinstance(answer.hash_algorithm, hashes.SHA256)
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"


@pytest.mark.parametrize("body", [b"", b"not DER", b"\x30\x03\x02\x01\x01"])
def test_malformed_requests_get_a_malformed_response(ca, responder, client, body):
    for content in (_post(client, responder.url, body), _get(client, responder.url, body)):
        assert ocsp.load_der_ocsp_response(content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    reply = client.get(f"{responder.url}/%%%not-base64")
    assert ocsp.load_der_ocsp_response(reply.content).response_status == \
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_http_level_refusals(responder, client):
    assert client.post(responder.url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    big = b"\x00" * (64 * 1024 + 1)
    reply = client.post(responder.url, content=big, headers={"Content-Type": "application/ocsp-request"})
    assert reply.status_code == 413


def test_responder_before_init_answers_unauthorized(blank_ca, client):
    with OCSPResponder(blank_ca) as running:
        reply = client.post(running.url, content=b"\x30\x00", headers={"Content-Type": "application/ocsp-request"})
    assert ocsp.load_der_ocsp_response(reply.content).response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_responder_refuses_non_loopback_hosts(ca, host):
    with pytest.raises(Refused) as caught:
        OCSPResponder(ca, host=host)
    assert caught.value.code == "ocsp-not-loopback"


def test_responder_start_stop_and_url(ca):
    responder = OCSPResponder(ca, host="localhost")
    with pytest.raises(Refused):
        responder.url  # noqa: B018 - the property raises before start
    url = responder.start()
    assert url.startswith("http://127.0.0.1:") and responder.start() == url
    responder.stop()
    responder.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        httpx.post(url, content=b"", timeout=2, trust_env=False)


def test_get_path_decoding_tolerates_client_variants():
    der = bytes(range(250))
    standard = base64.b64encode(der).decode()
    assert decode_get_path("/" + urllib.parse.quote(standard, safe="")) == der
    assert decode_get_path("/" + standard) == der  # "/" left unescaped by sloppy clients
    assert decode_get_path("/" + base64.urlsafe_b64encode(der).decode().rstrip("=")) == der
    assert decode_get_path("/") is None
    assert decode_get_path("/***") is None


_FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # the CA is only read by these tests


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(st.binary(max_size=300))
def test_fuzz_ocsp_response_never_raises(ca, data):
    response = ocsp.load_der_ocsp_response(ca.ocsp_response(data))
    assert response.response_status in (ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
                                         ocsp.OCSPResponseStatus.SUCCESSFUL)


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(st.data())
def test_fuzz_mutated_requests_get_a_response(ca, data):
    root = ca.certificate()
    request = bytearray(_request(root, root, hashes.SHA256(), nonce=b"n" * 16))
    for _ in range(data.draw(st.integers(1, 3))):
        request[data.draw(st.integers(0, len(request) - 1))] = data.draw(st.integers(0, 255))
    response = ocsp.load_der_ocsp_response(ca.ocsp_response(bytes(request)))
    if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert response.certificate_status in (ocsp.OCSPCertStatus.GOOD, ocsp.OCSPCertStatus.UNKNOWN)
    else:
        assert response.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_get_path_decoding_returns_bytes_or_none(path):
    assert decode_get_path(path) is None or isinstance(decode_get_path(path), bytes)


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def ocsp_response(self, request_der: bytes) -> bytes:
        raise self.error


@pytest.mark.parametrize("error", [KeystoreLocked("locked"), RuntimeError("bug")], ids=["typed", "unexpected"])
def test_responder_turns_failures_into_internal_error(client, error):
    with OCSPResponder(_Failing(error)) as running:
        reply = client.post(running.url, content=b"\x30\x00", headers={"Content-Type": "application/ocsp-request"})
    assert reply.status_code == 200
    assert ocsp.load_der_ocsp_response(reply.content).response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR


def test_responder_on_ipv6_loopback(ca, client):
    responder = OCSPResponder(ca, host="::1")
    try:
        url = responder.start()
    except Refused as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert url.startswith("http://[::1]:")
        root = ca.certificate()
        assert _checked(ca, _post(client, url, _request(root, root))).certificate_status == \
            ocsp.OCSPCertStatus.GOOD
    finally:
        responder.stop()
