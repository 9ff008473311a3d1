"""Loading every key format a participant brings, and exporting in the formats others read."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BadInput, UnknownKeyFormat, UnsupportedKeyType, WrongPassphrase
from core.keys import formats, pem
from core.keys.types import KeyType
from tests.unit.keys.keys_support import (VECTOR_PKCS8_BODY, VECTOR_SPKI_B64, VECTOR_SPKI_HEX, key_of,
                                          pkcs8_pem, traditional_pem, vector_key)

ALL_TYPES = list(KeyType)
NOENC = serialization.NoEncryption()


def same_key(a, b) -> bool:
    return formats.spki_der(a) == formats.spki_der(b)


# --- generation and identification ---------------------------------------------------------

@pytest.mark.parametrize("kind", ALL_TYPES)
def test_generated_key_has_its_type(kind):
    key = key_of(kind)
    assert formats.key_type_of(key) is kind
    assert formats.key_type_of(key.public_key()) is kind


def test_generated_rsa_is_4096_bits_with_f4():
    key = key_of(KeyType.RSA)
    assert key.key_size == 4096
    assert key.public_key().public_numbers().e == 65537


def test_generate_accepts_the_string_value_and_rejects_unknown_types():
    assert formats.key_type_of(formats.generate_private_key("ecdsa-p256")) is KeyType.ECDSA_P256
    with pytest.raises(BadInput, match="unknown key type 'dsa'"):
        formats.generate_private_key("dsa")


def test_identity_functions_agree_with_the_spki():
    key = key_of(KeyType.ECDSA_P256)
    der = formats.spki_der(key)
    assert der == formats.spki_der(key.public_key())
    assert formats.public_der_b64(key) == base64.b64encode(der).decode()
    assert formats.fingerprint(key) == hashlib.sha256(der).hexdigest()
    text = formats.public_pem(key)
    assert text.startswith("-----BEGIN PUBLIC KEY-----\n") and text.endswith("-----END PUBLIC KEY-----\n")
    assert serialization.load_pem_public_key(text.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == der


def test_ed25519_vector_identity():
    key = vector_key()
    assert formats.spki_der(key).hex() == VECTOR_SPKI_HEX
    assert formats.public_der_b64(key) == VECTOR_SPKI_B64
    private_pem, _ = formats.cocos_cli_files(key)
    assert private_pem == f"-----BEGIN PRIVATE KEY-----\n{VECTOR_PKCS8_BODY}\n-----END PRIVATE KEY-----\n".encode()


# --- every accepted format -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ALL_TYPES)
def test_loads_pkcs8_pem_and_der(kind):
    key = key_of(kind)
    assert same_key(formats.load_private_key(pkcs8_pem(key)), key)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, NOENC)
    assert same_key(formats.load_private_key(der), key)


@pytest.mark.parametrize("kind", [KeyType.RSA, KeyType.ECDSA_P256, KeyType.ECDSA_P384])
def test_loads_traditional_pem_and_der(kind):
    key = key_of(kind)
    text = traditional_pem(key)
    assert text.startswith(b"-----BEGIN RSA PRIVATE KEY-----" if kind is KeyType.RSA
                           else b"-----BEGIN EC PRIVATE KEY-----")
    assert same_key(formats.load_private_key(text), key)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)
    assert same_key(formats.load_private_key(der), key)


def test_loads_a_cocos_cli_rsa_file_built_per_the_spec():
    key = key_of(KeyType.RSA)
    pkcs1 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)
    body = base64.b64encode(pkcs1).decode()
    # built by hand as cocos-cli writes it: PKCS#1 DER under the PKCS#8 label, 64-column lines
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    text = f"-----BEGIN PRIVATE KEY-----\n{lines}\n-----END PRIVATE KEY-----\n".encode()
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(text, None)  # why the armour is parsed by hand
    assert same_key(formats.load_private_key(text), key)


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_cocos_cli_files_round_trip(kind):
    key = key_of(kind)
    private_pem, public_pem = formats.cocos_cli_files(key)
    assert same_key(formats.load_private_key(private_pem), key)
    assert public_pem.decode() == formats.public_pem(key)


def test_cocos_cli_layout_per_key_type():
    rsa_private, _ = formats.cocos_cli_files(key_of(KeyType.RSA))
    [block] = pem.parse_blocks(rsa_private)
    assert block.label == "PRIVATE KEY"
    assert block.der == key_of(KeyType.RSA).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, NOENC)  # PKCS#1
    ec_private, _ = formats.cocos_cli_files(key_of(KeyType.ECDSA_P256))
    [block] = pem.parse_blocks(ec_private)
    assert block.label == "EC PRIVATE KEY"
    assert ec_private == traditional_pem(key_of(KeyType.ECDSA_P256))  # SEC1
    ed_private, ed_public = formats.cocos_cli_files(key_of(KeyType.ED25519))
    assert ed_private == pkcs8_pem(key_of(KeyType.ED25519))
    assert ed_public.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    for text in (rsa_private, ec_private, ed_private, ed_public):
        assert all(len(line) <= 64 for line in text.splitlines())


@pytest.mark.parametrize("kind", [KeyType.ECDSA_P256, KeyType.ED25519])
def test_encrypted_pkcs8_right_wrong_and_missing_password(kind):
    key = key_of(kind)
    text = formats.pkcs8_encrypted_pem(key, b"correct horse")
    assert text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert same_key(formats.load_private_key(text, b"correct horse"), key)
    assert same_key(formats.load_private_key(text, "correct horse"), key)  # type: ignore[arg-type]
    with pytest.raises(WrongPassphrase, match="does not decrypt"):
        formats.load_private_key(text, b"wrong")
    with pytest.raises(WrongPassphrase, match="give the passphrase") as missing:
        formats.load_private_key(text)
    assert missing.value.code == "wrong-passphrase"
    der = pem.parse_blocks(text)[0].der
    assert same_key(formats.load_private_key(der, b"correct horse"), key)
    with pytest.raises(WrongPassphrase):
        formats.load_private_key(der)


def test_encrypted_pkcs8_uses_a_strong_pbkdf2_work_factor():
    der = pem.parse_blocks(formats.pkcs8_encrypted_pem(key_of(KeyType.ED25519), b"pw"))[0].der
    assert bytes.fromhex("06092a864886f70d01050d") in der  # PBES2
    assert bytes.fromhex("02030927c0") in der  # iterationCount INTEGER 600000
    assert bytes.fromhex("060960864801650304012a") in der  # aes256-CBC


def test_encrypted_pkcs8_export_needs_a_passphrase():
    with pytest.raises(BadInput, match="non-empty passphrase"):
        formats.pkcs8_encrypted_pem(key_of(KeyType.ED25519), b"")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_reads_the_encrypted_export(tmp_path):
    key = key_of(KeyType.ECDSA_P384)
    path = tmp_path / "key.pem"
    path.write_bytes(formats.pkcs8_encrypted_pem(key, b"s3cret"))
    out = subprocess.run(["openssl", "pkey", "-in", str(path), "-passin", "pass:s3cret", "-pubout"],
                         capture_output=True, check=True).stdout
    assert out.decode() == formats.public_pem(key)


def test_legacy_openssl_encrypted_pem():
    key = key_of(KeyType.ECDSA_P256)
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.BestAvailableEncryption(b"pw"))
    assert b"Proc-Type: 4,ENCRYPTED" in text
    assert same_key(formats.load_private_key(text, b"pw"), key)
    with pytest.raises(WrongPassphrase):
        formats.load_private_key(text, b"nope")
    with pytest.raises(WrongPassphrase):
        formats.load_private_key(text)


def test_password_for_a_plain_key_is_ignored():
    key = key_of(KeyType.ED25519)
    assert same_key(formats.load_private_key(pkcs8_pem(key), b"unused"), key)


def test_private_key_found_among_other_blocks():
    key = key_of(KeyType.ECDSA_P256)
    bundle = b"comment line\n" + formats.public_pem(key).encode() + pkcs8_pem(key)
    assert same_key(formats.load_private_key(bundle), key)


# --- bad input, each with its error class and reason -------------------------------------------

def _pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NOENC)


@pytest.mark.parametrize("make, match", [
    (lambda: _pkcs8(ec.generate_private_key(ec.SECP256K1())), "curve secp256k1"),
    (lambda: _pkcs8(ec.generate_private_key(ec.SECP521R1())), "curve secp521r1"),
    (lambda: traditional_pem(ec.generate_private_key(ec.SECP256K1())), "curve secp256k1"),
    (lambda: _pkcs8(dsa.generate_private_key(2048)), "DSA"),
    (lambda: dsa.generate_private_key(2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, NOENC), "DSA"),
    (lambda: _pkcs8(x25519.X25519PrivateKey.generate()), "X25519"),
    (lambda: _pkcs8(ed448.Ed448PrivateKey.generate()), "Ed448"),
    (lambda: _pkcs8(rsa.generate_private_key(65537, 1024)), "only 1024 bits"),
])
def test_unsupported_key_types(make, match):
    with pytest.raises(UnsupportedKeyType, match=match) as caught:
        formats.load_private_key(make())
    assert caught.value.code == "unsupported-key-type"


@pytest.mark.parametrize("data, match", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"hello, I am not a key", "garbage"),
    (bytes(range(256)), "garbage"),
    (b"-----BEGIN PRIVATE KEY-----\nMIIB\n", "no END line"),
    (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "valid base64"),
    (b"-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n", "empty"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "garbage"),
    (b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "ssh-keygen"),
    (b"-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n", "'FOO BAR' is not a private key"),
])
def test_unknown_formats(data, match):
    with pytest.raises(UnknownKeyFormat, match=match) as caught:
        formats.load_private_key(data)
    assert caught.value.code == "unknown-key-format"


def test_public_key_given_instead_of_private():
    key = key_of(KeyType.ECDSA_P256)
    with pytest.raises(UnknownKeyFormat, match="holds a public key"):
        formats.load_private_key(formats.public_pem(key).encode())
    with pytest.raises(UnknownKeyFormat, match="it is a public key"):
        formats.load_private_key(formats.spki_der(key))


def test_certificate_given_instead_of_a_key():
    cert_pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(UnknownKeyFormat, match="holds a certificate"):
        formats.load_private_key(cert_pem)


def test_not_bytes_is_refused():
    with pytest.raises(UnknownKeyFormat, match="bytes"):
        formats.load_private_key("-----BEGIN PRIVATE KEY-----")  # type: ignore[arg-type]


def test_key_type_of_refuses_foreign_objects():
    with pytest.raises(UnsupportedKeyType, match="str keys are not supported"):
        formats.key_type_of("not a key")  # type: ignore[arg-type]


# --- fuzzing: only our typed errors may escape ---------------------------------------------------

OUR_ERRORS = (UnknownKeyFormat, WrongPassphrase, UnsupportedKeyType)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600), st.one_of(st.none(), st.binary(max_size=8)))
def test_fuzz_random_bytes(data, password):
    try:
        key = formats.load_private_key(data, password)
    except OUR_ERRORS:
        return
    assert formats.key_type_of(key) in KeyType


def _mutations(seed_key_kinds=(KeyType.ECDSA_P256, KeyType.ED25519)) -> list[bytes]:
    seeds = []
    for kind in seed_key_kinds:
        key = key_of(kind)
        seeds += [pkcs8_pem(key), key.private_bytes(serialization.Encoding.DER,
                                                    serialization.PrivateFormat.PKCS8, NOENC)]
    seeds.append(traditional_pem(key_of(KeyType.ECDSA_P256)))
    seeds.append(formats.cocos_cli_files(key_of(KeyType.ED25519))[0])
    return seeds


SEEDS = _mutations()


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       st.integers(0, 10_000))
def test_fuzz_mutated_keys(seed, flips, cut):
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: max(1, cut % (len(data) + 1))])
    try:
        formats.load_private_key(data)
    except OUR_ERRORS:
        pass


@FUZZ
@given(st.sampled_from(["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]),
       st.binary(max_size=300), st.lists(st.text(max_size=20), max_size=3))
def test_fuzz_pem_armour_with_random_der(label, der, header_lines):
    body = "\n".join(header_lines) + "\n\n" + base64.b64encode(der).decode()
    text = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode("utf-8", "replace")
    try:
        formats.load_private_key(text, b"pw")
    except OUR_ERRORS:
        pass
