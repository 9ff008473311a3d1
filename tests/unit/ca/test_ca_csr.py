"""CSRs: proof of possession, what is taken from them, and typed errors for everything else."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ca.csr import load_csr
from core.ca.errors import InvalidCSR
from core.errors import BadInput
from tests.unit.ca.helpers import make_csr, resign_csr, tamper_csr


def test_good_csr_yields_key_name_and_sans():
    pem, key = make_csr("alice.local", (x509.DNSName("alice.local"),
                                        x509.IPAddress(ipaddress.ip_address("10.1.2.3"))))
    request = load_csr(pem)
    assert request.public_key == key.public_key()
    assert request.common_name == "alice.local"
    assert request.sans == ("DNS:alice.local", "IP:10.1.2.3")


def test_der_csr_is_accepted_too():
    pem, _ = make_csr("bob")
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    assert load_csr(der).common_name == "bob"


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"garbage that is no CSR", "not a readable certificate signing request"),
    (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "not a readable"),
    (b"\x30" * 70_000, "far below"),
])
def test_unreadable_csrs(data, fragment):
    with pytest.raises(InvalidCSR) as caught:
        load_csr(data)
    assert fragment in str(caught.value)
    assert caught.value.code == "bad-csr"


def test_csr_with_bad_signature_is_refused():
    pem, _ = make_csr("alice.local")
    forged = tamper_csr(pem, b"alice.local", b"mallory.loc")
    with pytest.raises(InvalidCSR, match="signature does not match"):
        load_csr(forged)


def test_csr_with_a_weak_key_is_refused():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")]))
           .sign(key, hashes.SHA256()))
    with pytest.raises(InvalidCSR, match="too weak"):
        load_csr(csr.public_bytes(serialization.Encoding.PEM))


def test_csr_asking_for_an_email_san_is_refused():
    pem, _ = make_csr("alice", (x509.RFC822Name("alice@example.com"),))
    with pytest.raises(InvalidCSR, match="does not issue"):
        load_csr(pem)


def test_csr_of_another_type_is_refused_not_crashed():
    with pytest.raises(InvalidCSR):
        load_csr("text, not bytes")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_raise_only_bad_input(data):
    with pytest.raises(BadInput):
        load_csr(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mutated_csrs_raise_only_bad_input(data):
    der = bytearray(_FUZZ_DER)  # one fixed CSR: ECDSA signatures differ per signing, lengths too
    index = data.draw(st.integers(0, len(der) - 1))
    der[index] = data.draw(st.integers(0, 255))
    try:
        request = load_csr(bytes(der))
    except BadInput:
        return
    assert request.public_key is not None  # a mutation that still verifies must stay usable


_FUZZ_DER = x509.load_pem_x509_csr(make_csr("fuzz.local", (x509.DNSName("fuzz.local"),))[0]).public_bytes(
    serialization.Encoding.DER)


def test_resigned_csr_helper_really_produces_valid_csrs():
    pem, key = make_csr("alice.local")
    edited = resign_csr(pem, b"alice.local", b"carol.local", key)
    assert load_csr(edited).common_name == "carol.local"


def test_csr_with_two_san_extensions_is_refused():
    key_usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    pem, key = make_csr("alice.local", (x509.DNSName("alice.local"),), extra=key_usage)
    # Relabel the keyUsage extension (2.5.29.15) as a second subjectAltName (2.5.29.17).
    doubled = resign_csr(pem, b"\x06\x03\x55\x1d\x0f", b"\x06\x03\x55\x1d\x11", key)
    with pytest.raises(InvalidCSR, match="extensions cannot be decoded"):
        load_csr(doubled)
