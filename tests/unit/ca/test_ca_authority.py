"""The stateful CA on a real store and keystore: init, issue, list, get, renew, revoke, export, audit."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

from core.ca.authority import REVOCATION_REASONS, CertificateAuthority
from core.errors import AlreadyExists, BadInput, CANotInitialised, KeystoreLocked, NotFound, Refused
from core.keys.types import KeyType
from core.workspace.store import Store
from tests.unit.ca.helpers import make_csr, tamper_csr, verify_client, verify_server


def _cert(pem: bytes | str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode())


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- init -----------------------------------------------------------------------------------

def test_init_creates_a_p384_root_with_its_key_in_the_keystore(blank_ca, keystore, audit, clock):
    assert not blank_ca.is_initialised
    record = blank_ca.init()
    assert blank_ca.is_initialised
    assert (record.usage, record.common_name, record.key_name, record.status) == \
        ("ca", "Prism local CA (test)", "ca-root", "valid")
    assert record.not_after - clock.now == timedelta(days=3650)
    cert = blank_ca.certificate()
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp384r1"
    cert.verify_directly_issued_by(cert)
    assert blank_ca.ca_pem() == cert.public_bytes(serialization.Encoding.PEM)
    assert keystore.get("ca-root").purpose == "ca"
    assert _public_der(keystore.private_key("ca-root").public_key()) == _public_der(cert.public_key())
    assert audit == [("ca.init", record.serial, {"common_name": "Prism local CA (test)",
                                                 "not_after": record.not_after.isoformat()})]


def test_init_twice_is_refused(ca):
    with pytest.raises(AlreadyExists) as caught:
        ca.init()
    assert caught.value.code == "ca-already-initialised"


def test_init_with_bad_lifetime_stores_nothing(blank_ca, keystore):
    with pytest.raises(BadInput, match="days is not possible"):
        blank_ca.init("Root", days=0)
    assert not blank_ca.is_initialised
    with pytest.raises(NotFound):
        keystore.get("ca-root")


def test_init_refuses_a_stale_root_key(blank_ca, keystore):
    keystore.add_private_key("ca-root", ec.generate_private_key(ec.SECP384R1()), purpose="ca")
    with pytest.raises(AlreadyExists) as caught:
        blank_ca.init()
    assert caught.value.code == "ca-key-exists"


def test_the_ca_survives_reopening_the_store(ca, tmp_path, keystore, clock):
    serial = ca.issue("agent.local").record.serial
    with Store(tmp_path / "workspace.sqlite") as reopened:
        again = CertificateAuthority(reopened, keystore, clock=clock)
        assert again.is_initialised
        assert again.get(serial).common_name == "agent.local"
        assert again.certificate() == ca.certificate()


@pytest.mark.parametrize("operation", [
    lambda ca: ca.certificate(),
    lambda ca: ca.ca_pem(),
    lambda ca: ca.issue("agent.local"),
    lambda ca: ca.list(),
    lambda ca: ca.get("01"),
    lambda ca: ca.renew("01"),
    lambda ca: ca.revoke("01"),
    lambda ca: ca.publish_crl(),
    lambda ca: ca.latest_crl(),
    lambda ca: ca.ocsp_response(b"\x30\x00"),
    lambda ca: ca.export_pem_bundle("01"),
    lambda ca: ca.export_pkcs12("01", b"pw"),
], ids=["certificate", "ca_pem", "issue", "list", "get", "renew", "revoke", "publish_crl", "latest_crl",
        "ocsp_response", "export_pem_bundle", "export_pkcs12"])
def test_every_operation_before_init_says_so(blank_ca, operation, audit):
    with pytest.raises(CANotInitialised) as caught:
        operation(blank_ca)
    assert caught.value.code == "ca-not-initialised"
    assert "prism ca init" in str(caught.value)
    assert audit == []


# --- issue ----------------------------------------------------------------------------------

def test_issue_server_certificate_with_a_fresh_key(ca, keystore, audit, clock):
    issued = ca.issue("cvms.local", sans=("DNS:localhost", "IP:127.0.0.1"), usage="server")
    record = issued.record
    cert = _cert(issued.cert_pem)
    key = serialization.load_pem_private_key(issued.key_pem, password=None)
    assert _public_der(key.public_key()) == _public_der(cert.public_key())
    assert key.curve.name == "secp256r1"
    assert record.sans == ("DNS:localhost", "IP:127.0.0.1")
    assert (record.usage, record.status, record.key_name) == ("server", "valid", f"tls-{record.serial}")
    assert record.not_after - clock.now == timedelta(days=397)
    assert f"{cert.serial_number:x}" == record.serial
    assert keystore.get(record.key_name).purpose == "tls"
    for host in ("localhost", "127.0.0.1"):
        verify_server(cert, ca.certificate(), host, clock.now)
    assert audit == [("ca.issue", record.serial, {"common_name": "cvms.local", "usage": "server",
                                                  "sans": ["DNS:localhost", "IP:127.0.0.1"], "from_csr": False})]


def test_issue_client_certificate(ca, clock):
    issued = ca.issue("alice", sans=["URI:spiffe://prism/alice"], usage="client", days=30)
    verified = verify_client(_cert(issued.cert_pem), ca.certificate(), clock.now)
    assert verified.subjects == [x509.UniformResourceIdentifier("spiffe://prism/alice")]
    assert issued.record.not_after - clock.now == timedelta(days=30)


def test_issue_from_csr_merges_sans_and_keeps_no_key(ca, keystore, audit, clock):
    csr, key = make_csr("csr-name.local", (x509.DNSName("csr-name.local"), x509.DNSName("localhost")))
    issued = ca.issue("", sans=["localhost", "IP:::1"], usage="server", csr_pem=csr)
    cert = _cert(issued.cert_pem)
    assert issued.key_pem is None and issued.record.key_name is None
    assert issued.record.common_name == "csr-name.local"  # taken from the CSR when none is given
    assert issued.record.sans == ("DNS:csr-name.local", "DNS:localhost", "IP:::1")
    assert _public_der(cert.public_key()) == _public_der(key.public_key())
    verify_server(cert, ca.certificate(), "::1", clock.now)
    assert [entry.name for entry in keystore.list()] == ["ca-root"]
    assert audit[-1][2]["from_csr"] is True


@pytest.mark.parametrize(("csr", "code"), [
    (b"garbage", "bad-csr"),
    (tamper_csr(make_csr("alice.local")[0], b"alice.local", b"mallory.loc"), "bad-csr"),
])
def test_bad_csr_is_bad_input_and_issues_nothing(ca, csr, code, audit):
    with pytest.raises(BadInput) as caught:
        ca.issue("x.local", csr_pem=csr)
    assert caught.value.code == code
    assert [r.usage for r in ca.list()] == ["ca"]
    assert audit == []


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"sans": ["DNS:bad name"]}, "neither an IP address nor a valid DNS name"),
    ({"sans": ["IP:999.1.1.1"]}, "not a valid IPv4 or IPv6 address"),
    ({"usage": "email"}, "unknown certificate usage"),
    ({"days": 0}, "days is not possible"),
    ({"key_type": "dsa"}, "unknown key type"),
])
def test_bad_issue_arguments(ca, kwargs, fragment, keystore):
    with pytest.raises(BadInput, match=fragment):
        ca.issue("agent.local", **kwargs)
    assert [entry.name for entry in keystore.list()] == ["ca-root"]


def test_server_without_sans_uses_a_host_common_name_or_refuses(ca):
    assert ca.issue("agent.local").record.sans == ("DNS:agent.local",)
    with pytest.raises(BadInput, match="needs a host name or IP address"):
        ca.issue("Prism Agent")
    assert ca.issue("Prism Agent", usage="client").record.sans == ()


@pytest.mark.parametrize(("key_type", "check"), [
    (KeyType.ECDSA_P384, lambda k: k.curve.name == "secp384r1"),
    ("ed25519", lambda k: isinstance(k, ed25519.Ed25519PrivateKey)),
])
def test_issue_other_key_types(ca, key_type, check):
    issued = ca.issue("agent.local", key_type=key_type)
    assert check(serialization.load_pem_private_key(issued.key_pem, password=None))


def test_issue_includes_ocsp_and_crl_urls_when_set(ca):
    ca.ocsp_url, ca.crl_url = "http://127.0.0.1:8888", "http://127.0.0.1:8888/ca.crl"
    cert = _cert(ca.issue("agent.local").cert_pem)
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[0].access_location == x509.UniformResourceIdentifier("http://127.0.0.1:8888")
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier("http://127.0.0.1:8888/ca.crl")]


def test_leaves_never_outlive_the_ca(blank_ca, clock):
    blank_ca.init(days=10)
    record = blank_ca.issue("agent.local", days=397).record
    assert record.not_after == blank_ca.get(blank_ca.list()[0].serial).not_after


def test_an_expired_ca_signs_nothing(blank_ca, clock):
    blank_ca.init(days=1)
    clock.advance(days=2)
    with pytest.raises(Refused) as caught:
        blank_ca.issue("agent.local")
    assert caught.value.code == "ca-expired"


def test_a_failed_store_write_takes_the_fresh_key_back(ca, keystore, monkeypatch):
    def broken_insert(row):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ca, "_insert", broken_insert)
    with pytest.raises(RuntimeError):
        ca.issue("agent.local")
    assert [entry.name for entry in keystore.list()] == ["ca-root"]


def test_without_an_open_keystore_reading_works_and_signing_is_refused(ca, store, clock):
    reader = CertificateAuthority(store, None, clock=clock)
    assert [r.usage for r in reader.list()] == ["ca"]
    with pytest.raises(KeystoreLocked):
        reader.issue("agent.local")


# --- list / get -------------------------------------------------------------------------------

def test_list_reports_statuses_at_a_given_time(ca, clock):
    short = ca.issue("short.local", days=1).record
    long = ca.issue("long.local", days=30).record
    gone = ca.issue("gone.local", days=30).record
    ca.revoke(gone.serial, "superseded")
    later = clock.now + timedelta(days=2)
    statuses = {r.common_name: r.status for r in ca.list(at=later)}
    assert statuses == {"Prism local CA (test)": "valid", "short.local": "expired", "long.local": "valid",
                        "gone.local": "revoked"}
    earlier = {r.serial: r.status for r in ca.list(at=clock.now - timedelta(hours=1))}
    assert earlier[short.serial] == earlier[long.serial] == "not-yet-valid"
    assert ca.list()[0].usage == "ca"
    clock.advance(days=2)
    assert ca.get(short.serial).status == "expired"  # default time is the CA's clock


def test_get_accepts_serials_as_tools_print_them(ca):
    serial = ca.issue("agent.local").record.serial
    spaced = ":".join(serial.zfill(len(serial) + len(serial) % 2)[i:i + 2]
                      for i in range(0, len(serial) + len(serial) % 2, 2))
    for form in (serial, serial.upper(), "0x" + serial, "00" + serial, spaced):
        assert ca.get(form).serial == serial


def test_get_unknown_and_malformed_serials(ca):
    with pytest.raises(NotFound) as caught:
        ca.get("abcdef")
    assert caught.value.code == "certificate-not-found"
    with pytest.raises(BadInput, match="not a certificate serial"):
        ca.get("not-hex!")


# --- renew ------------------------------------------------------------------------------------

def test_renew_keeps_subject_sans_usage_and_key(ca, audit, clock):
    old = ca.issue("agent.local", sans=["DNS:agent.local", "IP:10.0.0.1"], days=90)
    clock.advance(days=60)
    renewed = ca.renew(old.record.serial)
    new, old_cert = renewed.record, _cert(old.cert_pem)
    assert new.serial != old.record.serial and new.renewed_from == old.record.serial
    assert (new.common_name, new.sans, new.usage, new.key_name) == \
        (old.record.common_name, old.record.sans, old.record.usage, old.record.key_name)
    assert new.not_after - clock.now == timedelta(days=90)  # the original lifetime
    assert _public_der(_cert(renewed.cert_pem).public_key()) == _public_der(old_cert.public_key())
    assert renewed.key_pem is None
    verify_server(_cert(renewed.cert_pem), ca.certificate(), "10.0.0.1", clock.now)
    assert ca.get(old.record.serial).status == "valid"  # renewal does not revoke the old one
    assert audit.actions == ["ca.issue", "ca.renew"]
    assert audit[-1][1] == new.serial and audit[-1][2]["renewed_from"] == old.record.serial


def test_renew_a_csr_certificate_with_new_days(ca, clock):
    csr, key = make_csr("csr.local", (x509.IPAddress(ipaddress.ip_address("127.0.0.1")),))
    old = ca.issue("csr.local", usage="client", csr_pem=csr)
    renewed = ca.renew(old.record.serial, days=10)
    assert renewed.record.key_name is None and renewed.record.usage == "client"
    assert renewed.record.not_after - clock.now == timedelta(days=10)
    assert _public_der(_cert(renewed.cert_pem).public_key()) == _public_der(key.public_key())


def test_renew_is_refused_for_revoked_certificates_and_the_ca(ca):
    serial = ca.issue("agent.local").record.serial
    ca.revoke(serial, "key-compromise")
    with pytest.raises(Refused) as caught:
        ca.renew(serial)
    assert caught.value.code == "revoked"
    with pytest.raises(Refused) as caught:
        ca.renew(ca.list()[0].serial)
    assert caught.value.code == "ca-self-renewal"


# --- revoke -----------------------------------------------------------------------------------

def test_revoke_records_time_and_reason_once(ca, audit, clock):
    serial = ca.issue("agent.local").record.serial
    clock.advance(hours=1)
    record = ca.revoke(serial, "key-compromise")
    assert (record.status, record.revocation_reason, record.revoked_at) == ("revoked", "key-compromise", clock.now)
    assert ca.get(serial).revocation_reason == "key-compromise"
    with pytest.raises(Refused) as caught:
        ca.revoke(serial, "superseded")
    assert caught.value.code == "already-revoked"
    assert ca.get(serial).revocation_reason == "key-compromise"
    assert audit.actions == ["ca.issue", "ca.revoke"]
    assert audit[-1] == ("ca.revoke", serial, {"reason": "key-compromise", "common_name": "agent.local"})


def test_revoke_refuses_the_ca_and_unknown_reasons(ca):
    with pytest.raises(Refused) as caught:
        ca.revoke(ca.list()[0].serial)
    assert caught.value.code == "ca-self-revocation"
    serial = ca.issue("agent.local").record.serial
    with pytest.raises(BadInput, match="unknown revocation reason 'bogus'"):
        ca.revoke(serial, "bogus")
    assert ca.get(serial).status == "valid"


@pytest.mark.parametrize("spelling", ["keyCompromise", "KEY_COMPROMISE", " key-compromise "])
def test_revoke_accepts_rfc_spellings(ca, spelling):
    assert ca.revoke(ca.issue("a.local").record.serial, spelling).revocation_reason == "key-compromise"


def test_revocation_reasons_are_the_rfc_5280_names():
    assert REVOCATION_REASONS == ("unspecified", "key-compromise", "ca-compromise", "affiliation-changed",
                                  "superseded", "cessation-of-operation", "certificate-hold",
                                  "privilege-withdrawn")


# --- exports ----------------------------------------------------------------------------------

def test_pem_bundle_is_leaf_then_ca(ca, audit):
    issued = ca.issue("agent.local")
    chain = x509.load_pem_x509_certificates(ca.export_pem_bundle(issued.record.serial))
    assert chain == [_cert(issued.cert_pem), ca.certificate()]
    assert audit[-1] == ("ca.export", issued.record.serial, {"format": "pem", "common_name": "agent.local"})


def test_pkcs12_export_loads_back_with_the_passphrase(ca, audit):
    issued = ca.issue("agent.local")
    blob = ca.export_pkcs12(issued.record.serial, b"s3cret pass")
    loaded = pkcs12.load_pkcs12(blob, b"s3cret pass")
    assert loaded.cert.certificate == _cert(issued.cert_pem)
    assert [c.certificate for c in loaded.additional_certs] == [ca.certificate()]
    expected = serialization.load_pem_private_key(issued.key_pem, password=None)
    assert _public_der(loaded.key.public_key()) == _public_der(expected.public_key())
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(blob, b"wrong")
    assert audit.actions[-1] == "ca.export" and audit[-1][2]["format"] == "pkcs12"


def test_pkcs12_export_refusals(ca):
    csr_serial = ca.issue("csr.local", csr_pem=make_csr("csr.local")[0]).record.serial
    with pytest.raises(Refused) as caught:
        ca.export_pkcs12(csr_serial, b"pw")
    assert caught.value.code == "key-not-in-keystore"
    with pytest.raises(Refused) as caught:
        ca.export_pkcs12(ca.list()[0].serial, b"pw")
    assert caught.value.code == "ca-key-export"
    with pytest.raises(BadInput, match="non-empty passphrase"):
        ca.export_pkcs12(ca.issue("a.local").record.serial, b"")


def test_a_failed_init_rolls_back_its_ca_key(tmp_path, monkeypatch):
    """The CA key is protected from deletion, except by the CA's own rollback of a failed init."""
    from core.ca.authority import CA_KEY_NAME, CertificateAuthority
    from core.keys.keystore import KdfParams, Keystore
    from core.workspace.store import Store

    store = Store(tmp_path / "store.sqlite")
    keystore = Keystore.create(tmp_path / "ks.prks", passphrase="pw", kdf=KdfParams.FAST)
    ca = CertificateAuthority(store, keystore)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ca, "_insert", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ca.init()
    assert CA_KEY_NAME not in [e.name for e in keystore.list()]
    store.close()
