"""Cocos attestation policies as CoRIM (ATTESTATION.md §1.6): decode, map to policies, export.

Shape (veraison/corim as Cocos uses it)::

    [tag 18 COSE_Sign1 [protected {1: -7, 3: "application/rim+cbor", 8: bstr meta}, {}, payload, sig]]
    unsigned corim  {0: "<snp|tdx>-corim-<uuid>", 1: [bstr(d9 01 fa ‖ comid), ...]}
    comid           {1: {0: "<snp|tdx>-tag-<uuid>"}, 4: {0: [[environment, [measurement, ...]], ...]}}
    environment     {0: {0: tag37(random uuid)}, 1?: tag37(uuid5(NAMESPACE_OID, product name))}
    measurement     {0: tag37(random uuid), 1: {1?: tag552(svn), 2: [[alg-id, digest], ...]}}

Only the digests carry meaning, in order: SNP [MEASUREMENT]; TDX [MRTD, MRSEAM, RTMR0..RTMR3].
Everything else a policy needs (VMPL, TCB, debug ...) comes from the app's own policy.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from core.attestation.snp.policy import SnpPolicy
from core.attestation.tdx.policy import TdxPolicy
from core.errors import EvidenceError, Refused

log = logging.getLogger(__name__)

TAG_COSE_SIGN1 = 18
TAG_UUID = 37
TAG_UNSIGNED_CORIM = 501
TAG_COMID = 506
TAG_SVN = 552
COMID_PREFIX = bytes.fromhex("d901fa")
CONTENT_TYPE = "application/rim+cbor"
ALG_ES256 = -7
DIGEST_SIZE = 48
MAX_CORIM_SIZE = 1024 * 1024
_ARRAY = (list, tuple)  # cbor2 decodes arrays inside tags and map keys as tuples
#: product names whose UUIDv5 instance we recognise (what the manager passes, and the KDS names)
KNOWN_PRODUCTS = ("EPYC", "Milan", "Genoa", "Turin", "Siena", "Bergamo", "EPYC-v4", "EPYC-Milan",
                  "EPYC-Milan-v2", "EPYC-Genoa", "EPYC-Rome")


class CorimError(EvidenceError):
    """Bytes that are not a CoRIM of the shape Cocos produces."""

    code = "corim"


@dataclass(frozen=True, slots=True)
class Measurement:
    digests: tuple[tuple[int | str, bytes], ...]
    svn: int | None = None

    @property
    def value(self) -> bytes:
        return self.digests[0][1]


@dataclass(frozen=True, slots=True)
class ReferenceValues:
    platform: str                       # "snp" | "tdx"
    product_name: str | None            # recognised from the instance UUIDv5, else None
    instance_uuid: uuid.UUID | None
    measurements: tuple[bytes, ...]     # the first digest of each measurement, in order
    svn: int | None
    corim_id: str
    tag_ids: tuple[str, ...]
    signed: bool
    signature_valid: bool | None        # None: unsigned, or no key was given to check it
    entries: tuple[Measurement, ...] = ()

    @property
    def placeholder(self) -> bool:
        """True for Cocos' default "no value given" measurement (48 zero bytes)."""
        return all(not any(m) for m in self.measurements)


# --- CBOR plumbing -------------------------------------------------------------------------------

def _loads(data: bytes, what: str) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorimError(f"the {what} must be bytes")
    if len(data) > MAX_CORIM_SIZE:
        raise CorimError(f"the {what} is {len(data)} bytes, larger than any attestation policy")
    stream = io.BytesIO(bytes(data))
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, KeyError, IndexError,
            RecursionError, AttributeError, LookupError) as exc:
        raise CorimError(f"the {what} is not valid CBOR ({exc.__class__.__name__}); download the "
                         "attestation policy again") from None
    if stream.tell() != len(data):
        raise CorimError(f"the {what} has {len(data) - stream.tell()} stray bytes after its CBOR value")
    return value


def _dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, cbor2.CBORTag) and value.tag == TAG_UUID and isinstance(value.value, bytes) \
            and len(value.value) == 16:
        return uuid.UUID(bytes=value.value)
    return None


def _need(cond: bool, problem: str) -> None:
    if not cond:
        raise CorimError(f"the CoRIM is malformed: {problem}")


# --- unwrapping ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Envelope:
    corim: Mapping[Any, Any]
    signed: bool
    protected: bytes = b""
    payload: bytes = b""
    signature: bytes = b""


def _unwrap(data: bytes) -> _Envelope:
    top = _loads(data, "attestation policy")
    if isinstance(top, cbor2.CBORTag) and top.tag == TAG_COSE_SIGN1:
        msg = top.value
        _need(isinstance(msg, _ARRAY) and len(msg) == 4, "COSE_Sign1 is not a 4-element array")
        protected, unprotected, payload, signature = msg
        _need(isinstance(protected, bytes) and isinstance(unprotected, Mapping), "bad COSE_Sign1 headers")
        _need(isinstance(payload, bytes) and isinstance(signature, bytes), "bad COSE_Sign1 payload/signature")
        headers = _loads(protected, "COSE protected header") if protected else {}
        _need(isinstance(headers, Mapping), "the COSE protected header is not a map")
        content_type = headers.get(3)
        _need(content_type in (None, CONTENT_TYPE), f"content type {content_type!r} is not {CONTENT_TYPE}")
        inner = _untag(_loads(payload, "signed CoRIM payload"))
        return _Envelope(inner, True, protected, payload, signature)
    return _Envelope(_untag(top), False)


def _untag(value: Any) -> Mapping[Any, Any]:
    if isinstance(value, cbor2.CBORTag) and value.tag == TAG_UNSIGNED_CORIM:
        value = value.value
    _need(isinstance(value, Mapping), "the unsigned CoRIM is not a map")
    _need(isinstance(value.get(0), str), "the CoRIM id (key 0) is missing or not text")
    _need(isinstance(value.get(1), _ARRAY) and bool(value[1]), "the CoRIM has no tags (key 1)")
    return value


def is_corim(data: bytes) -> bool:
    """True when ``data`` is shaped like a (signed or unsigned) CoRIM; for telling policy files apart."""
    try:
        tags = _unwrap(data).corim[1]
    except CorimError:
        return False
    return all(isinstance(t, bytes) and t.startswith(COMID_PREFIX) for t in tags)


# --- decoding ------------------------------------------------------------------------------------

def decode_corim(data: bytes, *, key: ec.EllipticCurvePublicKey | None = None) -> ReferenceValues:
    """Decode a Cocos CoRIM; with ``key``, also report whether its ES256 signature verifies."""
    envelope = _unwrap(data)
    corim_id: str = envelope.corim[0]
    tag_ids: list[str] = []
    entries: list[Measurement] = []
    instance: uuid.UUID | None = None
    for n, tag in enumerate(envelope.corim[1]):
        _need(isinstance(tag, bytes) and tag.startswith(COMID_PREFIX), f"tag #{n} is not a CoMID (tag 506)")
        comid = _loads(tag[len(COMID_PREFIX):], f"CoMID #{n}")
        tag_id, found_instance, found = _comid(comid, n)
        tag_ids.append(tag_id)
        instance = instance or found_instance
        entries.extend(found)
    _need(bool(entries), "it holds no reference measurements")
    valid = _verify(envelope, key) if envelope.signed and key is not None else None
    return ReferenceValues(
        platform=_platform(corim_id, tag_ids, entries), product_name=_product(instance),
        instance_uuid=instance, measurements=tuple(m.value for m in entries),
        svn=next((m.svn for m in entries if m.svn is not None), None), corim_id=corim_id,
        tag_ids=tuple(tag_ids), signed=envelope.signed, signature_valid=valid, entries=tuple(entries))


def _comid(comid: Any, n: int) -> tuple[str, uuid.UUID | None, list[Measurement]]:
    _need(isinstance(comid, Mapping), f"CoMID #{n} is not a map")
    identity, triples = comid.get(1), comid.get(4)
    _need(isinstance(identity, Mapping) and isinstance(identity.get(0), (str, bytes)),
          f"CoMID #{n} has no tag identity")
    _need(isinstance(triples, Mapping), f"CoMID #{n} has no triples")
    references = triples.get(0, [])
    _need(isinstance(references, _ARRAY), f"CoMID #{n}'s reference values are not a list")
    instance = None
    out: list[Measurement] = []
    for t, triple in enumerate(references):
        where = f"reference triple #{t} of CoMID #{n}"
        _need(isinstance(triple, _ARRAY) and len(triple) == 2, f"{where} is not [environment, measurements]")
        env, measurements = triple
        _need(isinstance(env, Mapping), f"{where} has no environment map")
        instance = instance or _uuid(env.get(1))
        _need(isinstance(measurements, _ARRAY), f"{where} has no measurement list")
        out.extend(_measurement(m, f"measurement #{i} of {where}") for i, m in enumerate(measurements))
    tag_id = identity[0]
    return tag_id if isinstance(tag_id, str) else tag_id.hex(), instance, out


def _measurement(m: Any, where: str) -> Measurement:
    _need(isinstance(m, Mapping) and isinstance(m.get(1), Mapping), f"{where} has no measurement values")
    mval = m[1]
    svn = mval.get(1)
    if isinstance(svn, cbor2.CBORTag) and svn.tag in (TAG_SVN, 553):
        svn = svn.value
    _need(svn is None or (isinstance(svn, int) and not isinstance(svn, bool) and svn >= 0),
          f"{where} has an SVN that is not a non-negative integer")
    digests = mval.get(2)
    _need(isinstance(digests, _ARRAY) and bool(digests), f"{where} has no digests")
    out = []
    for d in digests:
        _need(isinstance(d, _ARRAY) and len(d) == 2 and isinstance(d[0], (int, str))
              and not isinstance(d[0], bool) and isinstance(d[1], bytes) and bool(d[1]),
              f"{where} has a digest that is not [algorithm, bytes]")
        out.append((d[0], d[1]))
    return Measurement(tuple(out), svn)


def _platform(corim_id: str, tag_ids: list[str], entries: list[Measurement]) -> str:
    for name in [corim_id, *tag_ids]:
        if name.startswith("snp-"):
            return "snp"
        if name.startswith("tdx-"):
            return "tdx"
    # No telling id: Cocos' TDX CoRIM carries MRTD+MRSEAM(+RTMRs), its SNP one a single digest.
    return "tdx" if len(entries) > 1 else "snp"


def _product(instance: uuid.UUID | None) -> str | None:
    if instance is None:
        return None
    return next((p for p in KNOWN_PRODUCTS if product_instance(p) == instance), None)


def product_instance(product_name: str) -> uuid.UUID:
    """The environment instance Cocos derives from a product name: UUIDv5(NameSpace_OID, name)."""
    return uuid.uuid5(uuid.NAMESPACE_OID, product_name)


# --- COSE_Sign1 ----------------------------------------------------------------------------------

def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _dumps(["Signature1", protected, b"", payload])


def _verify(envelope: _Envelope, key: ec.EllipticCurvePublicKey) -> bool:
    headers = _loads(envelope.protected, "COSE protected header") if envelope.protected else {}
    if headers.get(1) != ALG_ES256 or len(envelope.signature) != 64:
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return False
    r = int.from_bytes(envelope.signature[:32], "big")
    s = int.from_bytes(envelope.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), _sig_structure(envelope.protected, envelope.payload),
                   ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_corim_signature(data: bytes, key: ec.EllipticCurvePublicKey) -> bool:
    """True only for a signed CoRIM whose ES256 signature verifies with ``key``."""
    envelope = _unwrap(data)
    return envelope.signed and _verify(envelope, key)


def _sign(unsigned: bytes, key: ec.EllipticCurvePrivateKey, signer_name: str) -> bytes:
    meta = _dumps({0: {0: signer_name}})
    protected = _dumps({1: ALG_ES256, 3: CONTENT_TYPE, 8: meta})
    der = key.sign(_sig_structure(protected, unsigned), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return _dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, unsigned, signature]))


# --- policies ------------------------------------------------------------------------------------

def _digests(values: ReferenceValues, platform: str) -> tuple[bytes, ...]:
    if values.platform != platform:
        raise CorimError(f"this CoRIM holds {values.platform.upper()} reference values, not "
                         f"{platform.upper()} ones; choose the policy for the right platform")
    for n, digest in enumerate(values.measurements):
        if len(digest) != DIGEST_SIZE:
            raise CorimError(f"reference measurement #{n} is {len(digest)} bytes; {platform.upper()} "
                             f"measurements are {DIGEST_SIZE}")
    if values.placeholder:
        log.warning("the CoRIM %s carries only Cocos' all-zero placeholder measurement", values.corim_id)
    return values.measurements


def snp_policy_from_corim(data: bytes, base: SnpPolicy | None = None) -> SnpPolicy:
    """``base`` (default: an empty SnpPolicy) with the CoRIM's launch measurements as the allow-list,
    and its SVN, when given, as the minimum guest SVN."""
    values = decode_corim(data)
    policy = replace(base or SnpPolicy(), measurements=_digests(values, "snp"))
    return replace(policy, minimum_guest_svn=values.svn) if values.svn else policy


def tdx_policy_from_corim(data: bytes, base: TdxPolicy | None = None) -> TdxPolicy:
    """``base`` (default: an empty TdxPolicy) with MRTD, MRSEAM and RTMR0-3 from the CoRIM, in that
    order; reference values the CoRIM lacks keep the base policy's value."""
    digests = _digests(decode_corim(data), "tdx")
    if len(digests) > 6:
        raise CorimError(f"a TDX CoRIM carries at most 6 measurements (MRTD, MRSEAM, RTMR0-3), not {len(digests)}")
    policy = base or TdxPolicy()
    rtmrs = list(policy.rtmrs)
    for i, value in enumerate(digests[2:]):
        rtmrs[i] = value
    return replace(policy, mr_td=digests[0], mr_seam=digests[1] if len(digests) > 1 else policy.mr_seam,
                   rtmrs=tuple(rtmrs))


# --- export --------------------------------------------------------------------------------------

def _corim(platform: str, digests: list[bytes], product_name: str | None, svn: int) -> bytes:
    env: dict[int, Any] = {0: {0: uuid.uuid4()}}
    if product_name:
        env[1] = product_instance(product_name)
    measurements = []
    for n, digest in enumerate(digests):
        mval: dict[int, Any] = {2: [[1, digest]]}
        if svn > 0 and n == 0:
            mval[1] = cbor2.CBORTag(TAG_SVN, svn)
        measurements.append({0: uuid.uuid4(), 1: mval})
    comid = {1: {0: f"{platform}-tag-{uuid.uuid4()}"}, 4: {0: [[env, measurements]]}}
    return _dumps({0: f"{platform}-corim-{uuid.uuid4()}", 1: [COMID_PREFIX + _dumps(comid)]})


def _finish(unsigned: bytes, signing_key: ec.EllipticCurvePrivateKey | None, signer_name: str) -> bytes:
    return unsigned if signing_key is None else _sign(unsigned, signing_key, signer_name)


def corim_from_snp_policy(policy: SnpPolicy, product_name: str = "EPYC", *, svn: int = 0,
                          signing_key: ec.EllipticCurvePrivateKey | None = None,
                          signer_name: str = "prism") -> bytes:
    """A CoRIM like the Cocos manager's: one measurement (48 zero bytes when the policy has none).
    Several allowed measurements become several measurement entries, all of which decode back."""
    digests = list(policy.measurements) or [bytes(DIGEST_SIZE)]
    return _finish(_corim("snp", digests, product_name, svn), signing_key, signer_name)


def corim_from_tdx_policy(policy: TdxPolicy, product_name: str | None = None, *,
                          signing_key: ec.EllipticCurvePrivateKey | None = None,
                          signer_name: str = "prism") -> bytes:
    """A CoRIM like the Cocos manager's TDX one: [MRTD, MRSEAM, RTMR0..3], as far as the policy pins
    them without a gap (the order is positional, so a gap cannot be encoded)."""
    values = [policy.mr_td, policy.mr_seam, *policy.rtmrs]
    if values[0] is None:
        raise Refused("the TDX policy has no MRTD, so there is no reference value to export",
                      code="corim-no-mrtd")
    count = next((i for i, v in enumerate(values) if v is None), len(values))
    if any(v is not None for v in values[count:]):
        raise Refused("a Cocos CoRIM lists MRTD, MRSEAM, RTMR0-3 by position; this policy sets a later "
                      "value while an earlier one is unset, which cannot be exported", code="corim-gap")
    return _finish(_corim("tdx", values[:count], product_name, 0), signing_key, signer_name)
