"""TPMT_PUBLIC for RSA and ECC keys (TPM 2.0 Part 2, §12.2.4; ATTESTATION.md §4.2): parse and build.

The attestation key (AK) of the vTPM travels as these bytes; they are also what the SNP report
binds (REPORT_DATA = SHA3-512(prefix || ak_pub)), so the parser keeps them verbatim in ``raw``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.attestation.vtpm.algorithms import TpmAlg, alg_name, digest, is_hash
from core.attestation.vtpm.errors import TpmStructureError
from core.attestation.vtpm.reader import Reader

# TPMA_OBJECT bits (Part 2, §8.3)
FIXED_TPM = 1 << 1
FIXED_PARENT = 1 << 4
SENSITIVE_DATA_ORIGIN = 1 << 5
USER_WITH_AUTH = 1 << 6
RESTRICTED = 1 << 16
DECRYPT = 1 << 17
SIGN = 1 << 18
#: go-tpm-tools' default AK: a restricted signing key that never leaves its TPM.
AK_ATTRIBUTES = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | RESTRICTED | SIGN

CURVES: dict[int, type[ec.EllipticCurve]] = {0x0003: ec.SECP256R1, 0x0004: ec.SECP384R1,
                                              0x0005: ec.SECP521R1}
_CURVE_IDS = {cls.name: cid for cid, cls in CURVES.items()}
_MAX_RSA_BYTES = 512   # RSA-4096, the largest modulus a TPM implements
_MAX_ECC_BYTES = 66    # P-521


@dataclass(frozen=True, slots=True)
class RsaDetail:
    key_bits: int
    exponent: int      # as stored: 0 means the default 65537
    modulus: bytes

    @property
    def public_exponent(self) -> int:
        return self.exponent or 65537


@dataclass(frozen=True, slots=True)
class EccDetail:
    curve_id: int
    kdf: int
    kdf_hash: int | None
    x: bytes
    y: bytes


@dataclass(frozen=True, slots=True)
class TpmtPublic:
    raw: bytes
    type: int
    name_alg: int
    object_attributes: int
    auth_policy: bytes
    symmetric: int          # TPM_ALG_NULL for a signing key
    scheme: int             # e.g. TPM_ALG_RSASSA, TPM_ALG_ECDSA, TPM_ALG_NULL
    scheme_hash: int | None
    rsa: RsaDetail | None = None
    ecc: EccDetail | None = None

    @property
    def is_restricted_signing_key(self) -> bool:
        want = FIXED_TPM | RESTRICTED | SIGN
        return self.object_attributes & want == want and not self.object_attributes & DECRYPT

    def name(self) -> bytes:
        """The TPM Name: nameAlg (u16) || H_nameAlg(TPMT_PUBLIC)."""
        if not is_hash(self.name_alg):
            raise TpmStructureError(f"the key's name algorithm {alg_name(self.name_alg)} is not a hash")
        return self.name_alg.to_bytes(2, "big") + digest(self.name_alg, self.raw)

    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        """The key as a ``cryptography`` object; TpmStructureError if the numbers are not a key."""
        try:
            if self.rsa is not None:
                n = int.from_bytes(self.rsa.modulus, "big")
                return rsa.RSAPublicNumbers(self.rsa.public_exponent, n).public_key()
            if self.ecc is not None:
                curve = CURVES[self.ecc.curve_id]()
                return ec.EllipticCurvePublicNumbers(
                    int.from_bytes(self.ecc.x, "big"), int.from_bytes(self.ecc.y, "big"), curve).public_key()
        except ValueError as exc:
            raise TpmStructureError(f"the TPMT_PUBLIC does not hold a usable public key: {exc}") from exc
        raise TpmStructureError(f"the TPMT_PUBLIC is a {alg_name(self.type)} object, not an RSA or ECC key")


def _symmetric(r: Reader) -> int:
    alg = r.u16("symmetric.algorithm")
    if alg != TpmAlg.NULL:
        r.u16("symmetric.keyBits")
        r.u16("symmetric.mode")
    return alg


def _scheme(r: Reader, field: str) -> tuple[int, int | None]:
    scheme = r.u16(field)
    if scheme in (TpmAlg.NULL, TpmAlg.RSAES):
        return scheme, None          # these schemes carry no details
    hash_alg = r.u16(f"{field}.hashAlg")
    if scheme == TpmAlg.ECDAA:
        r.u16(f"{field}.count")
    return scheme, hash_alg


def parse_public(data: bytes) -> TpmtPublic:
    """Parse a TPMT_PUBLIC holding an RSA or ECC key; TpmStructureError on anything else."""
    r = Reader(data, "TPMT_PUBLIC (attestation key)", error=TpmStructureError)
    obj_type, name_alg, attrs = r.u16("type"), r.u16("nameAlg"), r.u32("objectAttributes")
    policy = r.sized("authPolicy", limit=64)
    if obj_type == TpmAlg.RSA:
        symmetric = _symmetric(r)
        scheme, scheme_hash = _scheme(r, "scheme")
        bits, exponent = r.u16("keyBits"), r.u32("exponent")
        modulus = r.sized("unique (modulus)", limit=_MAX_RSA_BYTES)
        r.finish()
        if len(modulus) * 8 != bits:
            raise r.fail(f"the modulus has {len(modulus) * 8} bits but keyBits says {bits}")
        return TpmtPublic(bytes(data), obj_type, name_alg, attrs, policy, symmetric, scheme, scheme_hash,
                          rsa=RsaDetail(bits, exponent, modulus))
    if obj_type == TpmAlg.ECC:
        symmetric = _symmetric(r)
        scheme, scheme_hash = _scheme(r, "scheme")
        curve = r.u16("curveID")
        kdf, kdf_hash = _scheme(r, "kdf")
        x = r.sized("unique.x", limit=_MAX_ECC_BYTES)
        y = r.sized("unique.y", limit=_MAX_ECC_BYTES)
        r.finish()
        if curve not in CURVES:
            raise r.fail(f"curve 0x{curve:04x} is not one this app supports (NIST P-256, P-384, P-521)")
        return TpmtPublic(bytes(data), obj_type, name_alg, attrs, policy, symmetric, scheme, scheme_hash,
                          ecc=EccDetail(curve, kdf, kdf_hash, x, y))
    raise r.fail(f"object type {alg_name(obj_type)} is not an RSA (0x0001) or ECC (0x0023) key")


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _tpm2b(value: bytes) -> bytes:
    return _u16(len(value)) + value


def _scheme_bytes(scheme: int, hash_alg: int | None) -> bytes:
    return _u16(scheme) + (b"" if hash_alg is None else _u16(hash_alg))


def build_rsa_public(key: rsa.RSAPublicKey, *, attributes: int = AK_ATTRIBUTES,
                     scheme: int = TpmAlg.RSASSA, scheme_hash: int | None = TpmAlg.SHA256,
                     name_alg: int = TpmAlg.SHA256, auth_policy: bytes = b"",
                     explicit_exponent: bool = False) -> bytes:
    """The TPMT_PUBLIC of an RSA key, as a TPM writes it (exponent 0 for 65537 by default)."""
    numbers = key.public_numbers()
    exponent = numbers.e if explicit_exponent or numbers.e != 65537 else 0
    modulus = numbers.n.to_bytes(key.key_size // 8, "big")
    return (_u16(TpmAlg.RSA) + _u16(name_alg) + attributes.to_bytes(4, "big") + _tpm2b(auth_policy)
            + _u16(TpmAlg.NULL) + _scheme_bytes(scheme, None if scheme == TpmAlg.NULL else scheme_hash)
            + _u16(key.key_size) + exponent.to_bytes(4, "big") + _tpm2b(modulus))


def build_ecc_public(key: ec.EllipticCurvePublicKey, *, attributes: int = AK_ATTRIBUTES,
                     scheme: int = TpmAlg.ECDSA, scheme_hash: int | None = TpmAlg.SHA256,
                     name_alg: int = TpmAlg.SHA256, auth_policy: bytes = b"") -> bytes:
    """The TPMT_PUBLIC of a NIST-curve EC key (KDF NULL, as for an attestation key)."""
    curve_id = _CURVE_IDS[key.curve.name]
    size = (key.curve.key_size + 7) // 8
    numbers = key.public_numbers()
    return (_u16(TpmAlg.ECC) + _u16(name_alg) + attributes.to_bytes(4, "big") + _tpm2b(auth_policy)
            + _u16(TpmAlg.NULL) + _scheme_bytes(scheme, None if scheme == TpmAlg.NULL else scheme_hash)
            + _u16(curve_id) + _u16(TpmAlg.NULL)
            + _tpm2b(numbers.x.to_bytes(size, "big")) + _tpm2b(numbers.y.to_bytes(size, "big")))
