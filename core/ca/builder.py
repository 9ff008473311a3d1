"""Pure X.509 building: the CA's self-signed root and the leaf certificates it signs.

Nothing here touches a store or a keystore; the stateful CertificateAuthority feeds these
functions keys, names and times, which keeps every profile decision testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from core.ca.errors import InvalidCAInput

__all__ = [
    "LEAF_USAGES",
    "MAX_DAYS",
    "LeafProfile",
    "build_leaf",
    "build_root",
    "check_days",
    "check_leaf_public_key",
    "common_name_of",
    "new_serial",
    "serial_hex",
    "signing_hash",
    "subject_name",
    "utc",
    "validity",
]

LEAF_USAGES = ("server", "client")
MAX_DAYS = 36_500  # a century: anything longer is a typo, not a plan
_MAX_CN = 64  # RFC 5280 ub-common-name
_MIN_RSA_BITS = 2048
_LEAF_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)

LeafPublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
IssuerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class LeafProfile:
    """Everything that varies between two leaf certificates of this CA."""

    common_name: str
    sans: tuple[x509.GeneralName, ...]
    usage: str  # "server" | "client"
    serial: int
    not_before: datetime
    not_after: datetime
    ocsp_url: str | None = None
    crl_url: str | None = None


def new_serial() -> int:
    """A positive random serial of 159 bits (RFC 5280 allows 20 octets; CA/B asks for 64 random bits)."""
    return x509.random_serial_number()


def serial_hex(serial: int) -> str:
    return f"{serial:x}"


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidCAInput(f"a validity of {days!r} days is not possible; "
                             f"give a whole number from 1 to {MAX_DAYS}")
    return days


def subject_name(common_name: str) -> x509.Name:
    cn = common_name.strip() if isinstance(common_name, str) else ""
    if not cn:
        raise InvalidCAInput("a certificate needs a non-empty common name")
    if len(cn) > _MAX_CN:
        raise InvalidCAInput(f"the common name is {len(cn)} characters long; X.509 allows at most {_MAX_CN}")
    if any(not ch.isprintable() for ch in cn):
        raise InvalidCAInput("the common name contains control characters; use printable text only")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def common_name_of(cert: x509.Certificate | x509.CertificateSigningRequest) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def signing_hash(key: IssuerKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The digest that matches the signing key's strength (Ed25519 signs without a separate one)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        return hashes.SHA512() if size > 384 else hashes.SHA384() if size > 256 else hashes.SHA256()
    return hashes.SHA256()


def check_leaf_public_key(key: object) -> LeafPublicKey:
    """Accept only keys that TLS stacks and our verifiers support well."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, _LEAF_CURVES):
            return key
        raise InvalidCAInput(f"the elliptic curve {key.curve.name} is not supported; use P-256, P-384 or P-521")
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size >= _MIN_RSA_BITS:
            return key
        raise InvalidCAInput(f"an RSA key of {key.key_size} bits is too weak; use at least {_MIN_RSA_BITS} bits")
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise InvalidCAInput(f"keys of type {type(key).__name__} are not supported; use ECDSA, RSA or Ed25519")


def build_root(key: IssuerKey, common_name: str, *, serial: int, not_before: datetime,
               not_after: datetime) -> x509.Certificate:
    """A self-signed root that may sign leaves only (path length 0), CRLs and OCSP responses."""
    name = subject_name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_after))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, signing_hash(key))


def build_leaf(issuer: x509.Certificate, issuer_key: IssuerKey, public_key: LeafPublicKey,
               profile: LeafProfile) -> x509.Certificate:
    """A server or client end-entity certificate signed by ``issuer``."""
    if profile.usage not in LEAF_USAGES:
        raise InvalidCAInput(f"unknown certificate usage {profile.usage!r}; use 'server' or 'client'")
    check_leaf_public_key(public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name(profile.common_name))
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(profile.serial)
        .not_valid_before(utc(profile.not_before))
        .not_valid_after(utc(profile.not_after))
    )
    for extension, critical in _leaf_extensions(issuer, public_key, profile):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, signing_hash(issuer_key))


def _leaf_extensions(issuer: x509.Certificate, public_key: LeafPublicKey,
                     profile: LeafProfile) -> list[tuple[x509.ExtensionType, bool]]:
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    eku = ExtendedKeyUsageOID.SERVER_AUTH if profile.usage == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        # RSA key exchange (TLS 1.2 and older) needs keyEncipherment; (EC)DHE suites need only signatures.
        (_key_usage(key_encipherment=is_rsa), True),
        (x509.ExtendedKeyUsage([eku]), False),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        (_authority_key_identifier(issuer), False),
    ]
    if profile.sans:
        extensions.append((x509.SubjectAlternativeName(list(profile.sans)), False))
    if profile.crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(profile.crl_url)], None, None, None)
        extensions.append((x509.CRLDistributionPoints([point]), False))
    if profile.ocsp_url:
        access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                        x509.UniformResourceIdentifier(profile.ocsp_url))
        extensions.append((x509.AuthorityInformationAccess([access]), False))
    return extensions


def _authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(*, cert_sign: bool = False, key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def utc(moment: datetime) -> datetime:
    """X.509 times are UTC with whole seconds; naive values (as SQLite returns) are taken as UTC."""
    aware = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return aware.replace(microsecond=0)


def validity(now: datetime, days: int, *, backdate: timedelta = timedelta(minutes=5)) -> tuple[datetime, datetime]:
    """(not_before, not_after): backdated a little so a peer whose clock lags still accepts it."""
    start = utc(now)
    return start - backdate, start + timedelta(days=check_days(days))
