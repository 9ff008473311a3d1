"""Online fetchers against httpx.MockTransport: exact URLs, retries, typed errors, cache reuse."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.errors import CollateralFetchError
from core.attestation.collateral.fetch import (
    amd_cert_chain_url, amd_crl_url, fetch_for_snp_report, fetch_for_tdx_quote, pck_crl_url, qe_identity_url,
    tcb_info_url, vcek_url,
)
from core.attestation.collateral.http import CollateralHttp, retry_after_seconds
from core.attestation.collateral.select import tdx_collateral
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.tdx.verify import verify_tdx
from tests.unit.attestation.snp.synth import CHIP_ID, TURIN_CHIP_ID, build_report
from tests.unit.attestation.tdx import synth as tdx

from .helpers import cert, crl, der, pem

REPORTED = TcbVersion.from_components(bootloader=3, tee=0, snp=8, microcode=115)
CURRENT = TcbVersion.from_components(bootloader=3, tee=0, snp=8, microcode=206)
TURIN = TcbVersion.from_components(fmc=1, bootloader=1, tee=1, snp=4, microcode=81)
AT = datetime(2025, 3, 10, tzinfo=timezone.utc)
Handler = Callable[[httpx.Request], httpx.Response]


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


class Recorder:
    """A MockTransport handler that serves fixed URLs and records every request."""

    def __init__(self, routes: dict[str, httpx.Response | list[httpx.Response]]) -> None:
        self.routes = {k: (v if isinstance(v, list) else [v]) for k, v in routes.items()}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        queue = self.routes.get(url)
        if not queue:
            return httpx.Response(404)
        return queue.pop(0) if len(queue) > 1 else queue[0]


async def _with_client(handler: Handler, body):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await body(client)


def _http(client: httpx.AsyncClient, sleeps: list[float] | None = None, **kw) -> CollateralHttp:  # type: ignore[no-untyped-def]
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
    return CollateralHttp(client, sleep=sleep, clock=lambda: AT, **kw)


# --- URL forms ----------------------------------------------------------------------------------

def test_vcek_url_milan_genoa_uses_64_byte_hwid_and_decimal_spls() -> None:
    url = vcek_url(Product.MILAN, CHIP_ID, REPORTED)
    assert url == ("https://kdsintf.amd.com/vcek/v1/Milan/" + CHIP_ID.hex()
                   + "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115")
    assert vcek_url("Siena", CHIP_ID, REPORTED).startswith("https://kdsintf.amd.com/vcek/v1/Genoa/")
    assert vcek_url("Bergamo", CHIP_ID, REPORTED).startswith("https://kdsintf.amd.com/vcek/v1/Genoa/")


def test_vcek_url_turin_uses_8_byte_hwid_and_fmc_first() -> None:
    url = vcek_url(Product.TURIN, TURIN_CHIP_ID[:8], TURIN)
    assert url == "https://kdsintf.amd.com/vcek/v1/Turin/0102030405060708?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81"
    with pytest.raises(CollateralFetchError, match="8 bytes, not 64"):
        vcek_url(Product.TURIN, CHIP_ID, TURIN)
    with pytest.raises(CollateralFetchError, match="FMC SPL"):
        vcek_url(Product.TURIN, TURIN_CHIP_ID[:8], REPORTED)


def test_chain_crl_and_intel_urls() -> None:
    assert amd_cert_chain_url("Milan") == "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"
    assert amd_cert_chain_url("Genoa", vlek=True) == "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain"
    assert amd_crl_url("Turin") == "https://kdsintf.amd.com/vcek/v1/Turin/crl"
    assert amd_crl_url("Milan", vlek=True) == "https://kdsintf.amd.com/vlek/v1/Milan/crl"
    assert tcb_info_url(bytes.fromhex("b0c06f000000")) == \
        "https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=b0c06f000000"
    assert qe_identity_url() == "https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity"
    assert pck_crl_url("processor") == \
        "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=processor&encoding=der"
    with pytest.raises(CollateralFetchError, match="platform' or 'processor"):
        pck_crl_url("root")
    with pytest.raises(CollateralFetchError, match="not an AMD EPYC product"):
        amd_crl_url("Rome")


# --- fetch_for_snp_report -------------------------------------------------------------------------

def _snp_routes(product: str, hw: bytes, tcb: TcbVersion) -> dict[str, httpx.Response]:
    return {vcek_url(product, hw, tcb): httpx.Response(200, content=der(cert("vcek"))),
            amd_cert_chain_url(product): httpx.Response(200, content=pem(cert("ask"), cert("ark"))),
            amd_crl_url(product): httpx.Response(200, content=crl(f"ARK-{product}", days=14))}


def test_snp_fetch_uses_reported_tcb_not_current(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED, current_tcb=CURRENT)
    recorder = Recorder(_snp_routes("Milan", CHIP_ID, REPORTED))
    cache = CollateralCache(tmp_path)
    items = _run(_with_client(recorder, lambda c: fetch_for_snp_report(report, _http(c), cache, at=AT)))
    assert recorder.seen[0].endswith("?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115")
    assert "ucodeSPL=206" not in " ".join(recorder.seen)
    assert [i.kind for i in items] == [K.AMD_VCEK, K.AMD_CERT_CHAIN, K.AMD_CRL]
    assert cache.get(K.AMD_VCEK, K.vcek_key("Milan", CHIP_ID, REPORTED)) == items[0]
    assert items[0].source_url == recorder.seen[0]


def test_snp_fetch_skips_fresh_cached_items_and_refetches_stale_ones(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED)
    cache = CollateralCache(tmp_path)
    _run(_with_client(Recorder(_snp_routes("Milan", CHIP_ID, REPORTED)),
                      lambda c: fetch_for_snp_report(report, _http(c), cache, at=AT)))
    second = Recorder(_snp_routes("Milan", CHIP_ID, REPORTED))
    _run(_with_client(second, lambda c: fetch_for_snp_report(report, _http(c), cache, at=AT)))
    assert second.seen == []
    # 12 days on, the CRL (nextUpdate Mar 15) is stale while the certificates (to Mar 31) still hold
    later = AT + timedelta(days=12)
    third = Recorder(_snp_routes("Milan", CHIP_ID, REPORTED))
    _run(_with_client(third, lambda c: fetch_for_snp_report(report, _http(c), cache, at=later)))
    assert third.seen == [amd_crl_url("Milan")]


def test_snp_fetch_turin_report(tmp_path: Path) -> None:
    report = build_report(product=Product.TURIN, version=5, reported_tcb=TURIN, chip_id=TURIN_CHIP_ID,
                          key_label="turin", platform_info=0x65)
    recorder = Recorder(_snp_routes("Turin", TURIN_CHIP_ID[:8], TURIN))
    _run(_with_client(recorder, lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path), at=AT)))
    assert recorder.seen[0] == ("https://kdsintf.amd.com/vcek/v1/Turin/0102030405060708"
                                "?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81")


def test_snp_fetch_v2_report_needs_the_product(tmp_path: Path) -> None:
    report = build_report(version=2, reported_tcb=REPORTED)
    with pytest.raises(CollateralFetchError, match="does not name its processor") as info:
        _run(_with_client(Recorder({}), lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path))))
    assert info.value.code == "collateral-product"
    recorder = Recorder(_snp_routes("Genoa", CHIP_ID, REPORTED))
    _run(_with_client(recorder, lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path),
                                                               product="Siena", at=AT)))
    assert recorder.seen[0].startswith("https://kdsintf.amd.com/vcek/v1/Genoa/")


def test_snp_fetch_vlek_report_fetches_only_the_vlek_chain_and_crl(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED, signing_key=1)
    routes = {amd_cert_chain_url("Milan", vlek=True): httpx.Response(200, content=pem(cert("asvk"), cert("ark"))),
              amd_crl_url("Milan", vlek=True): httpx.Response(200, content=crl())}
    recorder = Recorder(routes)
    items = _run(_with_client(recorder, lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path), at=AT)))
    assert recorder.seen == [amd_cert_chain_url("Milan", vlek=True), amd_crl_url("Milan", vlek=True)]
    assert [(i.kind, i.key) for i in items] == [(K.AMD_CERT_CHAIN, "vlek/Milan"), (K.AMD_CRL, "vlek/Milan")]


def test_masked_chip_id_cannot_be_fetched(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED, chip_id=bytes(64))
    with pytest.raises(CollateralFetchError) as info:
        _run(_with_client(Recorder({}), lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path))))
    assert info.value.code == "collateral-masked-chip"


# --- errors and retries --------------------------------------------------------------------------

def test_404_vcek_is_a_typed_error_with_url_and_status(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED)
    with pytest.raises(CollateralFetchError) as info:
        _run(_with_client(Recorder({}), lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path))))
    assert "AMD has no VCEK for this chip/TCB" in str(info.value)
    assert info.value.status == 404 and info.value.code == "collateral-not-found"
    assert info.value.url == vcek_url("Milan", CHIP_ID, REPORTED)


def test_unreachable_host_says_offline_and_suggests_a_pack(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
    report = build_report(reported_tcb=REPORTED)
    with pytest.raises(CollateralFetchError) as info:
        _run(_with_client(refuse, lambda c: fetch_for_snp_report(report, c, CollateralCache(tmp_path))))
    assert str(info.value).startswith("cannot reach kdsintf.amd.com: are you offline? use a collateral pack")
    assert info.value.code == "collateral-offline"


def test_timeout_is_a_typed_error() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)
    with pytest.raises(CollateralFetchError, match="did not answer within 5 s") as info:
        _run(_with_client(slow, lambda c: _http(c, timeout=5).get(amd_crl_url("Milan"), not_found="x")))
    assert info.value.code == "collateral-timeout"


def test_429_backs_off_honouring_retry_after_then_succeeds() -> None:
    url = amd_crl_url("Milan")
    recorder = Recorder({url: [httpx.Response(429, headers={"Retry-After": "7"}),
                               httpx.Response(429, headers={"Retry-After": "3600"}),
                               httpx.Response(503), httpx.Response(200, content=b"ok")]})
    sleeps: list[float] = []
    got = _run(_with_client(recorder, lambda c: _http(c, sleeps, max_wait=30, backoff=2).get(url, not_found="x")))
    assert got.body == b"ok"
    assert sleeps == [7.0, 30.0, 8.0]  # as asked, capped at max_wait, then exponential backoff (2 * 2**2)
    assert recorder.seen == [url] * 4


def test_429_forever_gives_up_with_rate_limit_error() -> None:
    url = amd_crl_url("Milan")
    sleeps: list[float] = []
    with pytest.raises(CollateralFetchError, match="rate limited") as info:
        _run(_with_client(Recorder({url: httpx.Response(429)}),
                          lambda c: _http(c, sleeps, attempts=3).get(url, not_found="x")))
    assert info.value.status == 429 and len(sleeps) == 2


def test_other_status_and_garbage_body_are_typed_errors(tmp_path: Path) -> None:
    report = build_report(reported_tcb=REPORTED)
    routes = {vcek_url("Milan", CHIP_ID, REPORTED): httpx.Response(500)}
    with pytest.raises(CollateralFetchError, match="answered HTTP 500") as info:
        _run(_with_client(Recorder(routes), lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path))))
    assert info.value.status == 500
    routes = {vcek_url("Milan", CHIP_ID, REPORTED): httpx.Response(200, content=b"<html>maintenance</html>")}
    with pytest.raises(CollateralFetchError, match="did not return a usable AMD VCEK") as info:
        _run(_with_client(Recorder(routes), lambda c: fetch_for_snp_report(report, _http(c), CollateralCache(tmp_path))))
    assert info.value.code == "collateral-bad-response"


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Mon, 10 Mar 2025 00:00:30 GMT", AT) == 30.0
    assert retry_after_seconds("soon", AT) is None


# --- fetch_for_tdx_quote --------------------------------------------------------------------------

def _chain_header(*certs) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"value": quote(pem(*certs).decode(), safe="")}


def test_tdx_fetch_gets_everything_and_verifies(tmp_path: Path) -> None:
    pki = tdx.default_pki()
    quote_bytes = tdx.make_quote(pki)
    tcb_chain = _chain_header(pki.tcb_signer, pki.root)["value"]
    pck_chain = _chain_header(pki.ca, pki.root)["value"]
    root_crl = tdx.make_crl(pki.root, pki.root_key).public_bytes(encoding=_der_encoding())
    pck_crl = tdx.make_crl(pki.ca, pki.ca_key).public_bytes(encoding=_der_encoding())
    recorder = Recorder({
        tcb_info_url("b0c06f000000"): httpx.Response(200, content=tdx.make_tcb_info(pki),
                                                     headers={"TCB-Info-Issuer-Chain": tcb_chain}),
        qe_identity_url(): httpx.Response(200, content=tdx.make_qe_identity(pki),
                                          headers={"SGX-Enclave-Identity-Issuer-Chain": tcb_chain}),
        pck_crl_url("platform"): httpx.Response(200, content=pck_crl, headers={"SGX-PCK-CRL-Issuer-Chain": pck_chain}),
        "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der": httpx.Response(200, content=root_crl),
    })
    cache = CollateralCache(tmp_path)
    at = tdx.EPOCH
    items = _run(_with_client(recorder, lambda c: fetch_for_tdx_quote(quote_bytes, _http(c), cache, at=at)))
    assert recorder.seen == [tcb_info_url("b0c06f000000"), qe_identity_url(), pck_crl_url("platform"),
                             "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"]
    assert {(i.kind, i.key) for i in items} == {
        (K.INTEL_TCB_INFO, "b0c06f000000"), (K.INTEL_ISSUER_CHAIN, "tcb_signing"), (K.INTEL_QE_IDENTITY, "TD_QE"),
        (K.INTEL_PCK_CRL, "platform"), (K.INTEL_ISSUER_CHAIN, "pck_platform"), (K.INTEL_ROOT_CRL, "root")}
    assert cache.get(K.INTEL_ISSUER_CHAIN, "tcb_signing").data == pem(pki.tcb_signer, pki.root)  # URL-decoded
    verdict = verify_tdx(quote_bytes, tdx_collateral(cache, quote_bytes), at=at, trust=tdx.trust_for(pki))
    assert verdict.authentic, [c.id for c in verdict.failures()]
    again = Recorder({})
    _run(_with_client(again, lambda c: fetch_for_tdx_quote(quote_bytes, _http(c), cache, at=at)))
    assert again.seen == []


def test_tdx_fetch_without_issuer_chain_header_is_refused(tmp_path: Path) -> None:
    pki = tdx.default_pki()
    recorder = Recorder({tcb_info_url("b0c06f000000"): httpx.Response(200, content=tdx.make_tcb_info(pki))})
    with pytest.raises(CollateralFetchError, match="no TCB-Info-Issuer-Chain header"):
        _run(_with_client(recorder, lambda c: fetch_for_tdx_quote(tdx.make_quote(pki), _http(c),
                                                                  CollateralCache(tmp_path), at=tdx.EPOCH)))


def test_tdx_unknown_fmspc_is_a_404_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CollateralFetchError, match="no TDX TCB Info for FMSPC b0c06f000000"):
        _run(_with_client(Recorder({}), lambda c: fetch_for_tdx_quote(tdx.make_quote(), _http(c),
                                                                      CollateralCache(tmp_path), at=tdx.EPOCH)))


def _der_encoding():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding
    return Encoding.DER
