"""Key formats: generate, load (every format a participant brings), identify and export keys.

Pure functions on bytes and key objects; no files. Loading raises only ``UnknownKeyFormat``,
``WrongPassphrase`` or ``UnsupportedKeyType``, each saying what to do next.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

from core.errors import BadInput, UnknownKeyFormat, UnsupportedKeyType, WrongPassphrase
from core.keys import pem
from core.keys.pkcs8 import encrypt_pkcs8_der
from core.keys.types import GENERATED_RSA_BITS, MIN_RSA_BITS, KeyType, PrivateKey, PublicKey

_PRIVATE_LABELS = ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
_NOT_PRIVATE_LABELS = {
    "PUBLIC KEY": "a public key",
    "RSA PUBLIC KEY": "a public key",
    "CERTIFICATE": "a certificate",
    "TRUSTED CERTIFICATE": "a certificate",
    "CERTIFICATE REQUEST": "a certificate request",
    "NEW CERTIFICATE REQUEST": "a certificate request",
    "X509 CRL": "a certificate revocation list",
}
_FORMATS_READ = "PEM or DER: PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC or a cocos-cli private.pem"
_SUPPORTED = "RSA (2048 bits or more), ECDSA P-256 / P-384 or Ed25519"
_PRIVATE_CLASSES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                    dsa.DSAPrivateKey, ed448.Ed448PrivateKey, x25519.X25519PrivateKey,
                    x448.X448PrivateKey)
_CURVES = {"secp256r1": KeyType.ECDSA_P256, "secp384r1": KeyType.ECDSA_P384}


# --- generate --------------------------------------------------------------------------

def generate_private_key(key_type: KeyType) -> PrivateKey:
    """A fresh key of ``key_type`` (RSA is RSA-4096 with e = 65537)."""
    kind = _key_type(key_type)
    if kind is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_RSA_BITS)
    if kind is KeyType.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if kind is KeyType.ECDSA_P384:
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


def _key_type(value: KeyType | str) -> KeyType:
    try:
        return KeyType(value)
    except ValueError:
        names = ", ".join(kind.value for kind in KeyType)
        raise BadInput(f"unknown key type {value!r}; choose one of {names}") from None


# --- load ------------------------------------------------------------------------------

def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """The private key in ``data`` (PEM or DER), decrypted with ``password`` when encrypted."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UnknownKeyFormat("a key file must be given as bytes")
    raw = bytes(data)
    if isinstance(password, str):  # a passphrase typed into a field arrives as text
        password = password.encode("utf-8")
    if password is not None and not isinstance(password, (bytes, bytearray)):
        raise BadInput("the key file's password must be bytes or text")
    if not raw.strip():
        raise UnknownKeyFormat("the key file is empty; choose the private key file itself")
    key = _load_pem(raw, password) if pem.looks_like_pem(raw) else _load_der(raw, password, "the file")
    key_type_of(key)  # refuses the key types Prism cannot use
    return key  # type: ignore[return-value]


def _load_pem(data: bytes, password: bytes | None) -> object:
    blocks = pem.parse_blocks(data)
    for block in blocks:
        if block.label in _PRIVATE_LABELS:
            if any(name.lower() == "proc-type" and "ENCRYPTED" in value for name, value in block.headers):
                return _load_legacy_encrypted(block, password)
            return _load_der(block.der, password, f"the PEM block '{block.label}'")
    labels = [block.label for block in blocks]
    if "DSA PRIVATE KEY" in labels:
        raise UnsupportedKeyType(f"DSA keys are not supported; use {_SUPPORTED}")
    if "OPENSSH PRIVATE KEY" in labels:
        raise UnknownKeyFormat(
            "this is an OpenSSH private key; convert it with 'ssh-keygen -p -m PKCS8 -f <file>' "
            "and import the result"
        )
    for label in labels:
        if label in _NOT_PRIVATE_LABELS:
            raise UnknownKeyFormat(
                f"the file holds {_NOT_PRIVATE_LABELS[label]}, not a private key; import the private "
                "key file (for cocos-cli keys, private.pem)"
            )
    shown = ", ".join(f"'{label}'" for label in labels)
    raise UnknownKeyFormat(f"the PEM block {shown} is not a private key; Prism reads {_FORMATS_READ}")


def _load_legacy_encrypted(block: pem.PemBlock, password: bytes | None) -> object:
    """OpenSSL's pre-PKCS#8 encryption ('Proc-Type: 4,ENCRYPTED'), which needs the armour."""
    if not password:
        raise WrongPassphrase("this private key is encrypted; give the passphrase it was saved with")
    try:
        return serialization.load_pem_private_key(block.text, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise WrongPassphrase(
            "the passphrase does not decrypt this private key (or its encryption is damaged); "
            "check the passphrase"
        ) from None


def _load_der(der: bytes, password: bytes | None, where: str) -> object:
    try:
        return serialization.load_der_private_key(der, password=None)
    except TypeError:
        pass  # encrypted: handled below
    except UnsupportedAlgorithm as exc:
        raise UnsupportedKeyType(f"{where} holds a key type Prism cannot use ({exc}); use {_SUPPORTED}") from None
    except ValueError:
        raise UnknownKeyFormat(f"{where} is not a private key: {_what_else(der)}") from None
    if not password:
        raise WrongPassphrase("this private key is encrypted; give the passphrase it was saved with")
    try:
        return serialization.load_der_private_key(der, password=password)
    except (ValueError, TypeError):
        raise WrongPassphrase("the passphrase does not decrypt this private key; check the passphrase") from None
    except UnsupportedAlgorithm as exc:
        raise UnknownKeyFormat(f"the key's encryption is not supported ({exc}); re-export it as PKCS#8 "
                               "with AES-256 (e.g. 'openssl pkcs8 -topk8 -v2 aes256')") from None


def _what_else(der: bytes) -> str:
    """Why DER that is not a private key was refused, in words."""
    try:
        serialization.load_der_public_key(der)
        return "it is a public key; import the private key file instead"
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        x509.load_der_x509_certificate(der)
        return "it is a certificate; import the private key file instead"
    except ValueError:
        pass
    return f"it is garbage or damaged; Prism reads {_FORMATS_READ}"


# --- identify --------------------------------------------------------------------------

def key_type_of(key: PrivateKey | PublicKey) -> KeyType:
    """The ``KeyType`` of a private or public key; ``UnsupportedKeyType`` for anything else."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedKeyType(
                f"this RSA key has only {key.key_size} bits; Prism needs at least {MIN_RSA_BITS}. "
                "Generate a new key (RSA-4096, ECDSA P-256 or Ed25519)"
            )
        return KeyType.RSA
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        curve = key.curve.name
        if curve in _CURVES:
            return _CURVES[curve]
        raise UnsupportedKeyType(f"ECDSA keys on curve {curve} are not supported; use {_SUPPORTED}")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return KeyType.ED25519
    raise UnsupportedKeyType(f"{_algorithm_name(key)} keys are not supported; use {_SUPPORTED}")


def _algorithm_name(key: object) -> str:
    names = ((dsa.DSAPrivateKey, "DSA"), (dsa.DSAPublicKey, "DSA"), (x25519.X25519PrivateKey, "X25519"),
             (x25519.X25519PublicKey, "X25519"), (x448.X448PrivateKey, "X448"), (x448.X448PublicKey, "X448"),
             (ed448.Ed448PrivateKey, "Ed448"), (ed448.Ed448PublicKey, "Ed448"))
    for cls, name in names:
        if isinstance(key, cls):
            return name
    return type(key).__name__


def _public(key: PrivateKey | PublicKey) -> PublicKey:
    return key.public_key() if isinstance(key, _PRIVATE_CLASSES) else key  # type: ignore[return-value]


def spki_der(key_or_public: PrivateKey | PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo: what a Cocos manifest's ``userKey`` holds."""
    return _public(key_or_public).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key_or_public: PrivateKey | PublicKey) -> str:
    """Lowercase hex SHA-256 of the SPKI DER."""
    return hashlib.sha256(spki_der(key_or_public)).hexdigest()


def public_pem(key: PrivateKey | PublicKey) -> str:
    """The public key as PEM ``PUBLIC KEY`` (PKIX SPKI), as cocos-cli's public.pem."""
    return pem.armour("PUBLIC KEY", spki_der(key)).decode("ascii")


def public_der_b64(key: PrivateKey | PublicKey) -> str:
    """Std base64 of the SPKI DER, the form Cocos manifests carry in JSON."""
    return base64.b64encode(spki_der(key)).decode("ascii")


# --- export ----------------------------------------------------------------------------

def pkcs8_der(key: PrivateKey) -> bytes:
    """The unencrypted PKCS#8 DER; only ever kept in memory or inside an encrypted container."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def pkcs8_encrypted_pem(key: PrivateKey, passphrase: bytes) -> bytes:
    """``ENCRYPTED PRIVATE KEY`` PEM (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)."""
    if not isinstance(passphrase, (bytes, bytearray)) or not passphrase:
        raise BadInput("an encrypted export needs a non-empty passphrase (as bytes)")
    return pem.armour("ENCRYPTED PRIVATE KEY", encrypt_pkcs8_der(pkcs8_der(key), bytes(passphrase)))


def cocos_cli_files(key: PrivateKey) -> tuple[bytes, bytes]:
    """(private.pem, public.pem) byte for byte in the layout ``cocos-cli keys`` writes.

    RSA: PKCS#1 DER under the label ``PRIVATE KEY`` (the CLI's quirk); ECDSA: SEC1 under
    ``EC PRIVATE KEY``; Ed25519: PKCS#8 under ``PRIVATE KEY``. The private file is plaintext.
    """
    kind = key_type_of(key)
    plain = serialization.NoEncryption()
    if kind is KeyType.RSA:
        label = "PRIVATE KEY"
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, plain)
    elif kind in (KeyType.ECDSA_P256, KeyType.ECDSA_P384):
        label = "EC PRIVATE KEY"
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, plain)
    else:
        label, der = "PRIVATE KEY", pkcs8_der(key)
    return pem.armour(label, der), public_pem(key).encode("ascii")
