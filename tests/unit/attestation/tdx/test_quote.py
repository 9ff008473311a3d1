"""Quote parsing on synthetic quotes (no shared corpus needed): layouts, fields, typed rejections."""

from __future__ import annotations

import struct

import pytest

from core.attestation.tdx.errors import TdxEvidenceError
from core.attestation.tdx.layout import FIELDS, field_spans
from core.attestation.tdx.quote import parse_quote

from .synth import BODY_DEFAULTS, default_pki, make_quote


@pytest.mark.parametrize(("version", "body_type", "end"), [(4, 2, 0x278), (5, 2, 48 + 6 + 584), (5, 3, 702)])
def test_layouts(version: int, body_type: int, end: int) -> None:
    quote = parse_quote(make_quote(version=version, body_type=body_type))
    assert quote.signed_region_end == end and quote.body_type == body_type
    body = quote.body
    for name in ("mr_td", "mr_seam", "rtmr0", "rtmr1", "rtmr2", "report_data", "xfam", "td_attributes"):
        assert getattr(body, name) == BODY_DEFAULTS[name]
    assert (body.tee_tcb_svn_2 is not None) is (body_type == 3)
    assert body.mr_service_td == (BODY_DEFAULTS["mr_service_td"] if body_type == 3 else None)
    qe = quote.auth_data.qe_certification
    assert qe.qe_report.isv_prod_id == 2 and qe.qe_auth_data == bytes(range(32))
    assert qe.pck_chain_pem.count(b"BEGIN CERTIFICATE") == 3
    assert body.attributes.names == ("SEPT_VE_DISABLE",) and not body.attributes.debug
    assert body.xfam_bits.fixed_bits_ok and "AMX_TILEDATA" in body.xfam_bits.names


def test_trailing_padding_is_ignored() -> None:
    raw = make_quote()
    quote = parse_quote(raw + bytes(3000))
    assert quote.raw == raw and quote.trailing_bytes == 3000


def test_field_spans_locate_every_field_in_the_raw_bytes() -> None:
    raw = make_quote(version=5, body_type=3)
    quote = parse_quote(raw)
    spans = {name: raw[start:end] for name, start, end in field_spans(quote)}
    assert spans["body.mr_td"] == quote.body.mr_td
    assert spans["body.mr_service_td"] == quote.body.mr_service_td
    assert spans["qe_report.report_data"] == quote.auth_data.qe_certification.qe_report.report_data
    assert spans["auth_data.attestation_key"] == quote.auth_data.attestation_key
    assert spans["pck.cert_chain_pem"] == quote.auth_data.qe_certification.pck_chain_pem
    assert spans["descriptor.body_size"] == struct.pack("<I", 648)
    assert {"header", "body", "qe_report", "auth_data"} <= set(FIELDS)


def _patch(raw: bytes, offset: int, value: bytes) -> bytes:
    return raw[:offset] + value + raw[offset + len(value):]


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda q: _patch(q, 0, struct.pack("<H", 3)), "tdx-bad-version"),
    (lambda q: _patch(q, 2, struct.pack("<H", 3)), "tdx-bad-key-type"),
    (lambda q: _patch(q, 4, struct.pack("<I", 0)), "tdx-bad-tee-type"),
    (lambda q: q[:40], "tdx-truncated"),
    (lambda q: q[:600], "tdx-truncated"),
    (lambda q: q[:-1], "tdx-truncated"),
    (lambda q: _patch(q, 0x278, struct.pack("<I", 10)), "tdx-truncated"),
    (lambda q: _patch(q, 0x278 + 4 + 128, struct.pack("<H", 5)), "tdx-bad-cert-type"),
    (lambda q: _patch(q, 0x278 + 4 + 130, struct.pack("<I", 5)), "tdx-bad-length"),
])
def test_v4_rejections(mutate, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TdxEvidenceError) as info:
        parse_quote(mutate(make_quote()))
    assert info.value.code == code
    assert str(info.value)  # a message a person can act on


@pytest.mark.parametrize(("body_type", "size", "code"), [
    (1, 384, "tdx-bad-body-type"), (4, 584, "tdx-bad-body-type"), (2, 648, "tdx-bad-length"), (3, 584, "tdx-bad-length"),
])
def test_v5_descriptor_rejections(body_type: int, size: int, code: str) -> None:
    raw = _patch(make_quote(version=5, body_type=3), 48, struct.pack("<HI", body_type, size))
    with pytest.raises(TdxEvidenceError) as info:
        parse_quote(raw)
    assert info.value.code == code


def test_inner_certification_type_must_be_pck_chain() -> None:
    raw = make_quote()
    quote = parse_quote(raw)
    inner = raw.index(quote.auth_data.qe_certification.pck_chain_pem) - 6
    with pytest.raises(TdxEvidenceError) as info:
        parse_quote(_patch(raw, inner, struct.pack("<H", 3)))
    assert info.value.code == "tdx-bad-cert-type"


def test_sgx_quote_message_names_sgx() -> None:
    with pytest.raises(TdxEvidenceError, match="SGX"):
        parse_quote(make_quote(default_pki(), tee_type=0))
