"""Fuzzing both SNP policy readers: only PolicyError escapes, and what they accept validates cleanly."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.attestation.snp.policy import SnpPolicy, validate_snp
from core.attestation.snp.policy_json import PolicyError
from core.attestation.snp.report import parse_report
from core.attestation.snp.tcb import Product
from core.attestation.verdict import Stage, Verdict

from .synth import MILAN_TCB, build_report

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REPORT = parse_report(build_report(product=Product.MILAN, version=5, reported_tcb=MILAN_TCB, vmpl=2))

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2 ** 65) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)

_B64_48 = base64.b64encode(b"\x11" * 48).decode()
LEGACY = {
    "policy": {"policy": 196608, "vmpl": 2, "product": {"name": 1}, "minimumVersion": "1.55",
               "permitProvisionalFirmware": True, "minimumTcb": "15352208179752599555",
               "minimumLaunchTcb": 3, "minimumBuild": 20, "minimumGuestSvn": 1, "platformInfo": 1,
               "reportIdMa": base64.b64encode(b"\xff" * 32).decode(), "measurement": _B64_48,
               "trustedIdKeyHashes": [_B64_48], "trustedAuthorKeys": ["AAEC"], "requireAuthorKey": False,
               "chipId": base64.b64encode(bytes(64)).decode()},
    "rootOfTrust": {"checkCrl": True, "disallowNetwork": False, "product": "Milan", "productLine": "Milan",
                    "cabundles": []},
    "pcr_values": {"sha256": {"0": "00" * 32}, "sha384": {"1": "11" * 48}},
}
OURS = json.loads(SnpPolicy.from_report(REPORT).to_json())
OURS["reference_pcrs"] = {"sha256": {"0": "00" * 32}}


# one value of every JSON kind, each wrong for most fields
WRONG_KINDS = [5, -1, 1.5, 2 ** 64, True, "x", "", [], [5], ["x"], {}, {"0": 5}, None]


def _set(doc: dict, path: tuple[str, ...], value: object) -> dict:
    doc = json.loads(json.dumps(doc))
    target = doc
    for part in path[:-1]:
        target = target.get(part)
        if not isinstance(target, dict):
            return doc  # an earlier edit replaced the parent object: nothing left to edit here
    target[path[-1]] = value
    return doc


def _edited(base: dict, keys: list[tuple[str, ...]]) -> st.SearchStrategy[dict]:
    """``base`` with one to three known fields (at any depth) replaced by arbitrary JSON."""
    @st.composite
    def edit(draw) -> dict:  # type: ignore[no-untyped-def]
        doc = base
        for path in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3)):
            doc = _set(doc, path, draw(st.one_of(st.sampled_from(WRONG_KINDS), _json)))
        return doc

    return edit()


def _paths(doc: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in doc.items():
        out.append(prefix + (key,))
        if isinstance(value, dict):
            out += _paths(value, prefix + (key,))
    return out


def _read(reader, data: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        policy = reader(data)
    except PolicyError as exc:
        assert exc.code == "snp-policy" and str(exc)
        return
    # whatever a reader accepts must be usable: validation only adds policy checks, never raises
    verdict = validate_snp(REPORT, policy, Verdict("snp"))
    assert verdict.policy_applied and all(c.stage is Stage.VALIDATE for c in verdict.checks)


@FUZZ
@given(st.one_of(_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                 _edited(LEGACY, _paths(LEGACY)).map(lambda d: json.dumps(d).encode())))
def test_legacy_reader_raises_only_policy_errors(data: bytes) -> None:
    _read(SnpPolicy.from_legacy_json, data)


@FUZZ
@given(st.one_of(_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                 _edited(OURS, _paths(OURS)).map(lambda d: json.dumps(d).encode())))
def test_policy_reader_raises_only_policy_errors(data: bytes) -> None:
    _read(SnpPolicy.from_json, data)


def test_every_field_with_every_wrong_kind_of_value() -> None:
    """Exhaustive over fields x JSON kinds: what fuzzing might miss by chance, this cannot."""
    for reader, base in ((SnpPolicy.from_legacy_json, LEGACY), (SnpPolicy.from_json, OURS)):
        for path in _paths(base):
            for value in WRONG_KINDS:
                _read(reader, json.dumps(_set(base, path, value)).encode())


def test_the_seed_documents_are_accepted() -> None:
    """The fuzzers start from valid documents, so their edits reach every field's checks."""
    legacy = SnpPolicy.from_legacy_json(json.dumps(LEGACY).encode())
    assert legacy.vmpl == 2 and len(legacy.reference_pcrs) == 2 and legacy.trusted_author_key_digests
    assert SnpPolicy.from_json(json.dumps(OURS)).reference_pcrs == legacy.reference_pcrs[:1]


def test_deeply_nested_json_is_a_policy_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for reader in (SnpPolicy.from_legacy_json, SnpPolicy.from_json):
        try:
            reader(deep)
        except PolicyError as exc:
            assert "not valid JSON" in str(exc)
        else:  # pragma: no cover - the assertion explains the failure
            raise AssertionError("a 100000-deep document was accepted")
