"""Role signatures exactly as the Cocos agent verifies them (protocol §4.2, §4.4)."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding

from core.errors import BadInput, UnknownKeyFormat, UnsupportedKeyType
from core.keys import formats
from core.keys.signatures import ROLES, role_signature_b64, sign_role, verify_role_signature
from core.keys.types import KeyType
from tests.unit.keys.keys_support import VECTOR_SIGNATURES, key_of, vector_key


def test_roles_are_the_protocol_strings():
    assert ROLES == ("algorithm-provider", "data-provider", "consumer")


@pytest.mark.parametrize("role", ROLES)
def test_ed25519_vector_signatures_are_exact(role):
    assert role_signature_b64(vector_key(), role) == VECTOR_SIGNATURES[role]


@pytest.mark.parametrize("kind", list(KeyType))
@pytest.mark.parametrize("role", ROLES)
def test_round_trip_for_every_type_and_role(kind, role):
    key = key_of(kind)
    signature = sign_role(key, role)
    assert verify_role_signature(formats.spki_der(key), role, signature)
    assert base64.b64decode(role_signature_b64(key, role))  # base64 of a signature


@pytest.mark.parametrize("kind", list(KeyType))
def test_wrong_role_wrong_key_and_tampering_are_rejected(kind):
    key = key_of(kind)
    signature = sign_role(key, "data-provider")
    spki = formats.spki_der(key)
    assert verify_role_signature(spki, "consumer", signature) is False
    assert verify_role_signature(spki, "algorithm-provider", signature) is False
    other = formats.spki_der(key_of(KeyType.ED25519 if kind is not KeyType.ED25519 else KeyType.ECDSA_P256))
    assert verify_role_signature(other, "data-provider", signature) is False
    flipped = bytearray(signature)
    flipped[len(flipped) // 2] ^= 0x01
    assert verify_role_signature(spki, "data-provider", bytes(flipped)) is False
    assert verify_role_signature(spki, "data-provider", b"") is False


def test_rsa_scheme_is_pkcs1v15_sha256_over_the_role():
    key = key_of(KeyType.RSA)
    signature = sign_role(key, "consumer")
    key.public_key().verify(signature, b"consumer", padding.PKCS1v15(), hashes.SHA256())
    assert sign_role(key, "consumer") == signature  # deterministic, reusable per session


def test_p384_signs_with_sha256_as_the_agent_expects():
    key = key_of(KeyType.ECDSA_P384)
    signature = sign_role(key, "consumer")
    key.public_key().verify(signature, b"consumer", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"consumer", ec.ECDSA(hashes.SHA384()))


def test_ed25519_signs_the_raw_role_bytes():
    key = vector_key()
    key.public_key().verify(sign_role(key, "algorithm-provider"), b"algorithm-provider")


def test_unknown_role_is_bad_input():
    with pytest.raises(BadInput, match="unknown participant role 'admin'"):
        sign_role(vector_key(), "admin")
    with pytest.raises(BadInput, match="unknown participant role"):
        verify_role_signature(formats.spki_der(vector_key()), "Consumer", b"x")


def test_verify_accepts_other_go_curves_like_the_agent():
    key = ec.generate_private_key(ec.SECP521R1())
    signature = key.sign(b"consumer", ec.ECDSA(hashes.SHA256()))
    assert verify_role_signature(formats.spki_der(key), "consumer", signature)


def test_verify_rejects_unparseable_or_foreign_keys():
    with pytest.raises(UnknownKeyFormat, match="SubjectPublicKeyInfo"):
        verify_role_signature(b"\x30\x03garbage", "consumer", b"sig")
    dsa_spki = formats.spki_der(dsa.generate_private_key(2048).public_key())
    with pytest.raises(UnsupportedKeyType, match="DSA"):
        verify_role_signature(dsa_spki, "consumer", b"sig")


def test_signing_with_an_unsupported_key_is_refused():
    with pytest.raises(UnsupportedKeyType, match="secp256k1"):
        sign_role(ec.generate_private_key(ec.SECP256K1()), "consumer")
