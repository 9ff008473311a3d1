"""The X.509 profiles of the root and of server/client leaves, without store or keystore."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from core.ca.builder import (
    LeafProfile,
    build_leaf,
    build_root,
    check_days,
    check_leaf_public_key,
    new_serial,
    subject_name,
    utc,
    validity,
)
from core.ca.errors import InvalidCAInput
from tests.unit.ca.helpers import verify_client, verify_server

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def root():
    key = ec.generate_private_key(ec.SECP384R1())
    cert = build_root(key, "Test root", serial=new_serial(), not_before=NOW - timedelta(days=1),
                      not_after=NOW + timedelta(days=3650))
    return cert, key


def _leaf(root, usage="server", public_key=None, **overrides):
    cert, key = root
    public_key = public_key or ec.generate_private_key(ec.SECP256R1()).public_key()
    fields = dict(common_name="agent.local", sans=(x509.DNSName("agent.local"),
                                                   x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
                  usage=usage, serial=new_serial(), not_before=NOW, not_after=NOW + timedelta(days=30))
    fields.update(overrides)
    return build_leaf(cert, key, public_key, LeafProfile(**fields))


def test_root_profile(root):
    cert, key = root
    ext = cert.extensions
    bc = ext.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True and bc.value.path_length == 0
    ku = ext.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert cert.issuer == cert.subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    cert.verify_directly_issued_by(cert)


def test_server_leaf_profile_verifies_for_its_names(root):
    leaf = _leaf(root, ocsp_url="http://127.0.0.1:9/ocsp", crl_url="http://127.0.0.1:9/ca.crl")
    ext = leaf.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = ext.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment and not ku.key_cert_sign
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == root[0].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == ["http://127.0.0.1:9/ocsp"]
    cdp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier("http://127.0.0.1:9/ca.crl")]
    verify_server(leaf, root[0], "agent.local", NOW + timedelta(days=1))
    verify_server(leaf, root[0], "127.0.0.1", NOW + timedelta(days=1))
    with pytest.raises(x509.verification.VerificationError):
        verify_server(leaf, root[0], "other.local", NOW + timedelta(days=1))
    with pytest.raises(x509.verification.VerificationError):
        verify_server(leaf, root[0], "agent.local", NOW + timedelta(days=31))  # expired


def test_leaf_without_urls_has_no_aia_or_cdp(root):
    ext = _leaf(root).extensions
    for kind in (x509.AuthorityInformationAccess, x509.CRLDistributionPoints):
        with pytest.raises(x509.ExtensionNotFound):
            ext.get_extension_for_class(kind)


def test_client_leaf_profile(root):
    leaf = _leaf(root, usage="client", sans=(x509.UniformResourceIdentifier("spiffe://prism/alice"),))
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    verified = verify_client(leaf, root[0], NOW + timedelta(days=1))
    assert verified.subjects == [x509.UniformResourceIdentifier("spiffe://prism/alice")]
    with pytest.raises(x509.verification.VerificationError):
        verify_server(_leaf(root, usage="client"), root[0], "agent.local", NOW + timedelta(days=1))


def test_rsa_server_leaf_adds_key_encipherment(root):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ku = _leaf(root, public_key=rsa_key).extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment


@pytest.mark.parametrize(("key", "fragment"), [
    (ec.generate_private_key(ec.SECP256K1()).public_key(), "secp256k1 is not supported"),
    (rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), "too weak"),
    ("not a key", "not supported"),
])
def test_weak_or_odd_leaf_keys_are_refused(key, fragment):
    with pytest.raises(InvalidCAInput, match=fragment):
        check_leaf_public_key(key)


def test_ed25519_leaf_keys_are_accepted(root):
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    assert check_leaf_public_key(key) is key
    _leaf(root, public_key=key).verify_directly_issued_by(root[0])


def test_unknown_usage_is_refused(root):
    with pytest.raises(InvalidCAInput, match="unknown certificate usage 'email'"):
        _leaf(root, usage="email")


@pytest.mark.parametrize(("name", "fragment"), [
    ("", "non-empty"), ("   ", "non-empty"), ("x" * 65, "at most 64"), ("bad\x00name", "control characters"),
])
def test_bad_common_names(name, fragment):
    with pytest.raises(InvalidCAInput, match=fragment):
        subject_name(name)


@pytest.mark.parametrize("days", [0, -1, 36_501, 1.5, True, "10"])
def test_bad_lifetimes(days):
    with pytest.raises(InvalidCAInput, match="days is not possible"):
        check_days(days)


def test_validity_is_backdated_and_whole_seconds():
    start = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    not_before, not_after = validity(start, 10)
    assert not_before == datetime(2030, 1, 1, 11, 55, tzinfo=timezone.utc)
    assert not_after == datetime(2030, 1, 11, 12, 0, tzinfo=timezone.utc)
    assert utc(datetime(2030, 1, 1)) == datetime(2030, 1, 1, tzinfo=timezone.utc)  # naive means UTC


def test_serials_are_positive_random_and_at_most_20_octets():
    serials = {new_serial() for _ in range(50)}
    assert len(serials) == 50
    assert all(0 < s < 2**159 for s in serials)
