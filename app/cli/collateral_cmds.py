"""prism collateral ... — fetch AMD/Intel collateral into the workspace cache, and move it offline.

`fetch` asks AMD KDS / Intel PCS for what one piece of evidence needs; `export` writes the cache
(or part of it) to one collateral pack; `import` reads a pack into the cache; `list` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone
from pathlib import Path

import httpx

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context, read_input_file

PLATFORMS = ("auto", "snp", "tdx")


def register(sub: argparse._SubParsersAction) -> None:
    coll = sub.add_parser("collateral", help="AMD KDS / Intel PCS collateral: fetch, list, offline packs")
    csub = coll.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = csub.add_parser("fetch", help="fetch what one report or quote needs into the workspace cache")
    p.add_argument("evidence")
    p.add_argument("--platform", choices=PLATFORMS, default="auto")
    p.add_argument("--product", help="SNP product for v2 reports that do not name it (Milan, Genoa, Turin)")
    p.add_argument("--no-crl", action="store_true", help="do not fetch AMD's CRL")
    p.set_defaults(func=fetch)

    p = csub.add_parser("list", help="list the cached collateral")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_)

    p = csub.add_parser("export", help="write cached collateral to one pack file for offline machines")
    p.add_argument("--out", required=True)
    p.add_argument("--kind", action="append", default=[], help="only items of this kind (repeat)")
    p.set_defaults(func=export)

    p = csub.add_parser("import", help="read a collateral pack into the workspace cache")
    p.add_argument("pack")
    p.set_defaults(func=import_)


def _cache(ctx: Context):
    from core.attestation.collateral.cache import CollateralCache

    return CollateralCache(ctx.workspace.cache_dir / "collateral")


def make_client() -> httpx.AsyncClient:
    """The HTTP client for fetches (a seam: tests replace it with one on a MockTransport)."""
    return httpx.AsyncClient(follow_redirects=False)


async def _fetch_items(evidence, cache, *, product: str | None, crl: bool) -> list:
    from core.attestation.collateral.fetch import fetch_for_snp_report, fetch_for_tdx_quote

    # the client is created and closed inside the running loop, never at import time
    async with make_client() as client:
        if evidence.platform == "snp":
            return await fetch_for_snp_report(evidence.report, client, cache, product=product, crl=crl)
        return await fetch_for_tdx_quote(evidence.quote, client, cache)


def fetch(ctx: Context) -> int:
    from core.attestation.evidence import load_evidence

    a = ctx.args
    evidence = load_evidence(read_input_file(a.evidence), platform=a.platform)
    cache = _cache(ctx)
    items = asyncio.run(_fetch_items(evidence, cache, product=a.product, crl=not a.no_crl))
    now = datetime.now(timezone.utc)
    for item in items:
        ctx.out(item.describe(now))
    ctx.out(f"{len(items)} collateral item(s) for this {evidence.platform.upper()} evidence are in the cache")
    return EXIT_OK


def list_(ctx: Context) -> int:
    now = datetime.now(timezone.utc)
    items = _cache(ctx).items()
    if ctx.args.json:
        ctx.emit_json([
            {"kind": i.kind, "key": i.key, "source_url": i.source_url, "sha256": i.sha256,
             "fetched_at": i.fetched_at.isoformat(),
             "not_after": i.not_after.isoformat() if i.not_after else None, "expired": i.expired(now)}
            for i in items])
        return EXIT_OK
    ctx.table(["KIND", "KEY", "FETCHED", "VALID UNTIL"],
              [[i.kind, i.key, f"{i.fetched_at:%Y-%m-%d}",
                ("EXPIRED " if i.expired(now) else "") + (f"{i.not_after:%Y-%m-%d}" if i.not_after else "-")]
               for i in items])
    return EXIT_OK


def export(ctx: Context) -> int:
    from core.attestation.collateral.pack import export_pack

    items = _cache(ctx).items()
    if ctx.args.kind:
        items = [i for i in items if i.kind in ctx.args.kind]
    if not items:
        ctx.out("nothing to export: the cache holds no matching collateral (run 'prism collateral fetch')")
        return EXIT_REFUSED
    export_pack(items, Path(ctx.args.out))
    ctx.out(f"wrote {len(items)} collateral item(s) to {ctx.args.out}")
    return EXIT_OK


def import_(ctx: Context) -> int:
    from core.attestation.collateral.pack import import_pack

    path = Path(ctx.args.pack)
    if not path.is_file():
        read_input_file(str(path))  # raises the readable "cannot read ..." error
    items = import_pack(path, _cache(ctx))
    ctx.out(f"imported {len(items)} collateral item(s) into workspace '{ctx.workspace.name}'")
    return EXIT_OK
