"""The collateral one verification uses: what the user gave, then the workspace's cache.

``load_collateral`` reads collateral packs, folders of loose files, single loose files (PEM/DER
certificates, CRLs, Intel JSON, an SNP certificate table) and, last, the workspace's collateral
cache, and picks from each what verifies this evidence. Earlier sources win: the verifier tries
certificates in order and keeps the first CRL, and TDX parts missing from a source are filled in
from the next one, so the cache only supplies what nothing the user named did.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from core.attestation.evidence import Evidence
from core.attestation.tdx.collateral import TdxCollateral
from core.errors import BadInput

log = logging.getLogger(__name__)

WORKSPACE_CACHE = "workspace collateral cache"
_ZIP_MAGIC = b"PK"  # every zip record starts so; loose PEM, DER or JSON never does


@dataclass(frozen=True, slots=True)
class CollateralInputs:
    """Verification inputs gathered from collateral directories, packs, files or the cache."""

    snp_certs: tuple[x509.Certificate, ...] = ()
    snp_crl: x509.CertificateRevocationList | None = None
    tdx: TdxCollateral | None = None
    sources: tuple[str, ...] = field(default=())


def load_collateral(paths: Sequence[str | Path], evidence: Evidence, *,
                    cache_dir: str | Path | None = None) -> CollateralInputs:
    """Collateral for ``evidence`` from ``paths`` (in order), then from the workspace cache.

    ``cache_dir`` is the workspace's cache folder (``Workspace.cache_dir``); the cache is only
    read, and a workspace that never cached anything is left untouched.
    """
    sources: list[tuple[str, list[Any]]] = []
    for raw_path in paths:
        path = Path(raw_path)
        if not path.exists():
            raise BadInput(f"collateral {path} does not exist")
        sources.append((str(path), _items(path)))
    if cache_dir is not None:
        cached = _cached_items(Path(cache_dir))
        if cached:
            sources.append((WORKSPACE_CACHE, cached))
    return _select(sources, evidence)


def _select(sources: list[tuple[str, list[Any]]], evidence: Evidence) -> CollateralInputs:
    from core.attestation.collateral.select import snp_inputs, tdx_collateral

    certs: list[x509.Certificate] = []
    crl: x509.CertificateRevocationList | None = None
    tdx: TdxCollateral | None = None
    for _, items in sources:
        if evidence.platform == "tdx":
            part = tdx_collateral(items, evidence.quote)
            tdx = part if tdx is None else tdx.merged_with(part)
        else:
            vcek, chain, found_crl = snp_inputs(items, evidence.report)
            certs += ([vcek] if vcek is not None else []) + list(chain)
            crl = crl or found_crl
    return CollateralInputs(tuple(certs), crl, tdx, tuple(name for name, _ in sources))


def _items(path: Path) -> list[Any]:
    from core.attestation.collateral.directory import load_collateral_dir, load_collateral_file

    if path.is_dir():
        return list(load_collateral_dir(path))
    if not _is_pack(path):
        return load_collateral_file(path)
    from core.attestation.collateral.cache import CollateralCache
    from core.attestation.collateral.pack import import_pack

    # a pack is validated member by member on import; a throwaway cache leaves the user's untouched
    with tempfile.TemporaryDirectory(prefix="prism-pack-") as tmp:
        return list(import_pack(path, CollateralCache(Path(tmp))))


def _is_pack(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    except OSError as exc:
        raise BadInput(f"cannot read collateral {path}: {exc.strerror}") from None


def _cached_items(cache_dir: Path) -> list[Any]:
    from core.attestation.collateral.select import workspace_items

    try:
        return workspace_items(cache_dir)
    except BadInput as exc:
        # the cache is the last resort: a damaged one must not stop a verification that has
        # everything it needs elsewhere (missing pieces still show up as failed checks)
        log.warning("the workspace collateral cache was not used: %s", exc)
        return []
