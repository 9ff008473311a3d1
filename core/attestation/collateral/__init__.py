"""Attestation collateral: items, the per-workspace cache, online fetchers (AMD KDS, Intel PCS),
offline packs and loose folders, and selection of what verifies a given report or quote."""

from __future__ import annotations

from core.attestation.collateral import kinds
from core.attestation.collateral.cache import CollateralCache
from core.attestation.collateral.directory import load_collateral_dir
from core.attestation.collateral.errors import (
    CollateralCacheError, CollateralDataError, CollateralFetchError, CollateralPackError,
)
from core.attestation.collateral.fetch import fetch_for_snp_report, fetch_for_tdx_quote
from core.attestation.collateral.http import CollateralHttp
from core.attestation.collateral.items import CollateralItem
from core.attestation.collateral.pack import export_pack, import_pack, read_pack
from core.attestation.collateral.select import snp_inputs, tdx_collateral

__all__ = [
    "CollateralCache", "CollateralCacheError", "CollateralDataError", "CollateralFetchError",
    "CollateralHttp", "CollateralItem", "CollateralPackError", "export_pack", "fetch_for_snp_report",
    "fetch_for_tdx_quote", "import_pack", "kinds", "load_collateral_dir", "read_pack", "snp_inputs",
    "tdx_collateral",
]
