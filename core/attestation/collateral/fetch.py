"""Fetch collateral online: AMD KDS (ATTESTATION.md §2.7) and Intel PCS v4 (§3.6).

``fetch_for_snp_report`` and ``fetch_for_tdx_quote`` fetch everything needed to verify one piece
of evidence, skipping what the cache already holds and is still fresh. The VCEK is always asked
for with the report's REPORTED_TCB (never CURRENT_TCB): that is the TCB the key was derived for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from urllib.parse import unquote

import httpx

from core.attestation.collateral import kinds as K
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.classify import classify_blob
from core.attestation.collateral.errors import CollateralDataError, CollateralFetchError
from core.attestation.collateral.http import CollateralHttp, Fetched
from core.attestation.collateral.items import CollateralItem, kind_name, utc
from core.attestation.snp.bits import SigningKey
from core.attestation.snp.report import AttestationReport, parse_report
from core.attestation.snp.tcb import Product, TcbVersion
from core.attestation.tdx.chain import common_name
from core.attestation.tdx.pck import load_pem_chain, pck_extensions
from core.attestation.tdx.quote import TdxQuote, parse_quote

KDS_BASE = "https://kdsintf.amd.com"
PCS_BASE = "https://api.trustedservices.intel.com"
INTEL_ROOT_CRL_URL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
PCK_CA_TYPES = ("platform", "processor")

_TCB_CHAIN_HEADERS = ("TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain")
_QE_CHAIN_HEADERS = ("SGX-Enclave-Identity-Issuer-Chain", "Enclave-Identity-Issuer-Chain")
_PCK_CRL_CHAIN_HEADERS = ("SGX-PCK-CRL-Issuer-Chain",)


# --- URLs ----------------------------------------------------------------------------------------

def vcek_url(product: Product | str, hw_id: bytes, tcb: TcbVersion, *, base: str = KDS_BASE) -> str:
    """KDS VCEK URL: 64-byte hwID on Milan/Genoa, 8-byte hwID and an FMC SPL on Turin."""
    p = K.kds_product(product)
    want = 8 if p.turin_layout else 64
    if len(hw_id) != want:
        raise CollateralFetchError(f"a {p.value} hwID is {want} bytes, not {len(hw_id)}",
                                   code="collateral-hwid")
    if p.turin_layout and tcb.fmc is None:
        raise CollateralFetchError("a Turin VCEK is fetched with an FMC SPL, but this TCB has none",
                                   code="collateral-tcb")
    return f"{base}/vcek/v1/{p.value}/{hw_id.hex()}?{K.spl_query(tcb)}"


def amd_cert_chain_url(product: Product | str, *, vlek: bool = False, base: str = KDS_BASE) -> str:
    return f"{base}/{'vlek' if vlek else 'vcek'}/v1/{K.kds_product(product).value}/cert_chain"


def amd_crl_url(product: Product | str, *, vlek: bool = False, base: str = KDS_BASE) -> str:
    return f"{base}/{'vlek' if vlek else 'vcek'}/v1/{K.kds_product(product).value}/crl"


def tcb_info_url(fmspc: bytes | str, *, base: str = PCS_BASE) -> str:
    return f"{base}/tdx/certification/v4/tcb?fmspc={K.fmspc_key(fmspc)}"


def qe_identity_url(*, base: str = PCS_BASE) -> str:
    return f"{base}/tdx/certification/v4/qe/identity"


def pck_crl_url(ca: str, *, base: str = PCS_BASE) -> str:
    if ca not in PCK_CA_TYPES:
        raise CollateralFetchError(f"the PCK CA type must be 'platform' or 'processor', not '{ca}'",
                                   code="collateral-ca-type")
    return f"{base}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der"


# --- single objects ------------------------------------------------------------------------------

def _item(kind: str, key: str, fetched: Fetched, data: bytes | None = None) -> CollateralItem:
    try:
        return CollateralItem.create(kind, key, fetched.body if data is None else data,
                                     source_url=fetched.url, fetched_at=datetime.now(timezone.utc))
    except CollateralDataError as exc:
        raise CollateralFetchError(
            f"{fetched.url} did not return a usable {kind_name(kind)}: {exc}", url=fetched.url,
            status=fetched.status, code="collateral-bad-response") from None


def _issuer_chain(fetched: Fetched, names: tuple[str, ...]) -> CollateralItem:
    header = next((fetched.headers[n] for n in names if n in fetched.headers), None)
    if header is None:
        raise CollateralFetchError(f"{fetched.url} sent no {names[0]} header, so its signer cannot be "
                                   "checked", url=fetched.url, status=fetched.status,
                                   code="collateral-bad-response")
    pem = unquote(header).encode()
    found = [c for c in classify_blob(pem) if c[0] == K.INTEL_ISSUER_CHAIN]
    if not found:
        raise CollateralFetchError(f"the {names[0]} header of {fetched.url} is not an Intel certificate "
                                   "chain", url=fetched.url, code="collateral-bad-response")
    return _item(K.INTEL_ISSUER_CHAIN, found[0][1], fetched, pem)


async def fetch_vcek(http: CollateralHttp, product: Product | str, hw_id: bytes, tcb: TcbVersion,
                     *, base: str = KDS_BASE) -> CollateralItem:
    url = vcek_url(product, hw_id, tcb, base=base)
    fetched = await http.get(url, not_found="AMD has no VCEK for this chip/TCB")
    return _item(K.AMD_VCEK, K.vcek_key(product, hw_id, tcb), fetched)


async def fetch_amd_cert_chain(http: CollateralHttp, product: Product | str, *, vlek: bool = False,
                               base: str = KDS_BASE) -> CollateralItem:
    url = amd_cert_chain_url(product, vlek=vlek, base=base)
    fetched = await http.get(url, not_found=f"AMD KDS has no certificate chain for {K.kds_product(product).value}")
    return _item(K.AMD_CERT_CHAIN, K.amd_chain_key(product, vlek=vlek), fetched)


async def fetch_amd_crl(http: CollateralHttp, product: Product | str, *, vlek: bool = False,
                        base: str = KDS_BASE) -> CollateralItem:
    url = amd_crl_url(product, vlek=vlek, base=base)
    fetched = await http.get(url, not_found=f"AMD KDS has no CRL for {K.kds_product(product).value}")
    return _item(K.AMD_CRL, K.amd_chain_key(product, vlek=vlek), fetched)


async def fetch_tcb_info(http: CollateralHttp, fmspc: bytes | str, *, base: str = PCS_BASE
                         ) -> list[CollateralItem]:
    """The TDX TCB Info for ``fmspc`` and the issuer chain from its response header."""
    url = tcb_info_url(fmspc, base=base)
    fetched = await http.get(url, not_found=f"Intel PCS has no TDX TCB Info for FMSPC {K.fmspc_key(fmspc)}")
    return [_item(K.INTEL_TCB_INFO, K.fmspc_key(fmspc), fetched), _issuer_chain(fetched, _TCB_CHAIN_HEADERS)]


async def fetch_qe_identity(http: CollateralHttp, *, base: str = PCS_BASE) -> list[CollateralItem]:
    fetched = await http.get(qe_identity_url(base=base), not_found="Intel PCS has no TD QE Identity")
    return [_item(K.INTEL_QE_IDENTITY, K.TDX_QE_IDENTITY_ID, fetched),
            _issuer_chain(fetched, _QE_CHAIN_HEADERS)]


async def fetch_pck_crl(http: CollateralHttp, ca: str, *, base: str = PCS_BASE) -> list[CollateralItem]:
    fetched = await http.get(pck_crl_url(ca, base=base), not_found=f"Intel PCS has no PCK CRL for the {ca} CA")
    return [_item(K.INTEL_PCK_CRL, ca, fetched), _issuer_chain(fetched, _PCK_CRL_CHAIN_HEADERS)]


async def fetch_root_crl(http: CollateralHttp, *, url: str = INTEL_ROOT_CRL_URL) -> CollateralItem:
    fetched = await http.get(url, not_found="Intel has no SGX Root CA CRL at this address")
    return _item(K.INTEL_ROOT_CRL, K.ROOT_KEY, fetched)


# --- everything for one piece of evidence --------------------------------------------------------

def _http(client: httpx.AsyncClient | CollateralHttp) -> CollateralHttp:
    return client if isinstance(client, CollateralHttp) else CollateralHttp(client)


def _cached(cache: CollateralCache, kind: str, key: str, at: datetime) -> CollateralItem | None:
    item = cache.get(kind, key)
    return item if item is not None and item.fresh(at) else None


def _snp_product(report: AttestationReport, product: Product | str | None) -> AttestationReport:
    if report.product is not None and report.product_source == "cpuid":
        return report
    if product is None:
        raise CollateralFetchError(
            "this SNP report (version 2) does not name its processor; choose the product (Milan, Genoa "
            "or Turin) to fetch its VCEK", code="collateral-product")
    return parse_report(report.raw, product=K.kds_product(product))


async def fetch_for_snp_report(report: AttestationReport | bytes, client: httpx.AsyncClient | CollateralHttp,
                               cache: CollateralCache, *, product: Product | str | None = None,
                               at: datetime | None = None, crl: bool = True,
                               base: str = KDS_BASE) -> list[CollateralItem]:
    """VCEK (for REPORTED_TCB), CA chain and CRL for ``report``; cached items that are still fresh
    are reused. A VLEK cannot be fetched (AMD serves it only to cloud providers): for a VLEK-signed
    report only the VLEK chain and CRL are fetched."""
    parsed = report if isinstance(report, AttestationReport) else parse_report(report)
    parsed = _snp_product(parsed, product)
    assert parsed.product is not None
    at = utc(at or datetime.now(timezone.utc))
    http = _http(client)
    vlek = parsed.signer_info.signing_key is SigningKey.VLEK
    p = parsed.product
    wanted: list[tuple[str, str, Callable[[], Awaitable[CollateralItem]]]] = []
    if not vlek:
        if parsed.chip_id_masked:
            raise CollateralFetchError(
                "the report hides its chip id (MASK_CHIP_ID), so its VCEK cannot be looked up at AMD; "
                "supply the VCEK from the host or a collateral pack", code="collateral-masked-chip")
        wanted.append((K.AMD_VCEK, K.vcek_key(p, parsed.hw_id, parsed.reported_tcb),
                       lambda: fetch_vcek(http, p, parsed.hw_id, parsed.reported_tcb, base=base)))
    wanted.append((K.AMD_CERT_CHAIN, K.amd_chain_key(p, vlek=vlek),
                   lambda: fetch_amd_cert_chain(http, p, vlek=vlek, base=base)))
    if crl:
        wanted.append((K.AMD_CRL, K.amd_chain_key(p, vlek=vlek),
                       lambda: fetch_amd_crl(http, p, vlek=vlek, base=base)))
    out: list[CollateralItem] = []
    for kind, key, fetch in wanted:
        item = _cached(cache, kind, key, at)
        if item is None:
            item = cache.put(await fetch())
        out.append(item)
    return out


def pck_facts(quote: bytes | TdxQuote) -> tuple[bytes, str]:
    """(FMSPC, PCK CA type) from a TDX quote's embedded PCK chain."""
    parsed = quote if isinstance(quote, TdxQuote) else parse_quote(quote)
    certs = load_pem_chain(parsed.auth_data.qe_certification.pck_chain_pem)
    fmspc = pck_extensions(certs[0]).fmspc
    ca = "processor" if len(certs) > 1 and "Processor" in common_name(certs[1]) else "platform"
    return fmspc, ca


async def fetch_for_tdx_quote(quote: bytes | TdxQuote, client: httpx.AsyncClient | CollateralHttp,
                              cache: CollateralCache, *, at: datetime | None = None,
                              base: str = PCS_BASE, root_crl_url: str = INTEL_ROOT_CRL_URL
                              ) -> list[CollateralItem]:
    """TCB Info (for the PCK's FMSPC), TD QE Identity, PCK CRL, Root CA CRL and issuer chains."""
    fmspc, ca = pck_facts(quote)
    at = utc(at or datetime.now(timezone.utc))
    http = _http(client)
    plan: list[tuple[list[tuple[str, str]], Callable[[], Awaitable[list[CollateralItem]]]]] = [
        ([(K.INTEL_TCB_INFO, K.fmspc_key(fmspc)), (K.INTEL_ISSUER_CHAIN, "tcb_signing")],
         lambda: fetch_tcb_info(http, fmspc, base=base)),
        ([(K.INTEL_QE_IDENTITY, K.TDX_QE_IDENTITY_ID), (K.INTEL_ISSUER_CHAIN, "tcb_signing")],
         lambda: fetch_qe_identity(http, base=base)),
        ([(K.INTEL_PCK_CRL, ca), (K.INTEL_ISSUER_CHAIN, K.intel_pck_chain_key(ca))],
         lambda: fetch_pck_crl(http, ca, base=base)),
        ([(K.INTEL_ROOT_CRL, K.ROOT_KEY)], lambda: _as_list(fetch_root_crl(http, url=root_crl_url))),
    ]
    out: dict[tuple[str, str], CollateralItem] = {}
    for needed, fetch in plan:
        cached = [_cached(cache, kind, key, at) for kind, key in needed]
        if all(c is not None for c in cached):
            items = [c for c in cached if c is not None]
        else:
            items = [cache.put(item) for item in await fetch()]
        for item in items:
            out[(item.kind, item.key)] = item
    return list(out.values())


async def _as_list(pending: Awaitable[CollateralItem]) -> list[CollateralItem]:
    return [await pending]
