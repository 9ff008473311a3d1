"""CRLs: numbering 1, 2, 3 ..., signature, AKI, entries with revocation time and reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from core.ca.crl import RevokedEntry, build_crl
from core.errors import BadInput


def test_crl_numbers_increase_and_contents_follow_revocations(ca, clock, audit):
    first = ca.issue("first.local").record.serial
    second = ca.issue("second.local").record.serial
    ca.issue("kept.local")

    number, der = ca.publish_crl()
    assert number == 1
    assert len(x509.load_der_x509_crl(der)) == 0

    clock.advance(hours=1)
    revoked_at = clock.now
    ca.revoke(first, "key-compromise")
    number, der = ca.publish_crl(days=3)
    crl = x509.load_der_x509_crl(der)
    assert number == 2
    assert crl.is_signature_valid(ca.certificate().public_key())
    assert crl.issuer == ca.certificate().subject
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    ski = ca.certificate().extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.last_update_utc == clock.now and crl.next_update_utc == clock.now + timedelta(days=3)
    entry = crl.get_revoked_certificate_by_serial_number(int(first, 16))
    assert entry is not None and entry.revocation_date_utc == revoked_at
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise

    ca.revoke(second)  # "unspecified": RFC 5280 says leave the reason code out
    number, der = ca.publish_crl()
    crl = x509.load_der_x509_crl(der)
    assert number == 3
    assert {entry.serial_number for entry in crl} == {int(first, 16), int(second, 16)}
    with pytest.raises(x509.ExtensionNotFound):
        crl.get_revoked_certificate_by_serial_number(int(second, 16)).extensions.get_extension_for_class(
            x509.CRLReason)
    assert ca.latest_crl() == der
    assert [a for a in audit.actions if a == "ca.crl"] == ["ca.crl"] * 3
    assert audit[-1][1] == "3" and audit[-1][2]["revoked"] == 2


def test_latest_crl_is_none_before_the_first_publication(ca):
    assert ca.latest_crl() is None


def test_crl_numbering_survives_a_new_authority_object(ca, store, keystore, clock):
    from core.ca.authority import CertificateAuthority

    ca.publish_crl()
    again = CertificateAuthority(store, keystore, clock=clock)
    assert again.publish_crl()[0] == 2


def test_crl_lifetime_is_checked(ca):
    with pytest.raises(BadInput, match="days is not possible"):
        ca.publish_crl(days=0)
    assert ca.latest_crl() is None


def test_build_crl_entry_reasons(ca, clock, keystore):
    entries = [RevokedEntry(5, clock.now, "superseded"), RevokedEntry(6, clock.now, None)]
    der = build_crl(ca.certificate(), keystore.private_key("ca-root"), entries, number=9,
                    this_update=clock.now, next_update=clock.now + timedelta(days=1))
    crl = x509.load_der_x509_crl(der)
    reason = crl.get_revoked_certificate_by_serial_number(5).extensions.get_extension_for_class(x509.CRLReason)
    assert reason.value.reason == x509.ReasonFlags.superseded
    assert len(crl.get_revoked_certificate_by_serial_number(6).extensions) == 0
