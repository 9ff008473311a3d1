"""The kinds of collateral and how each kind's key is spelled.

Keys are short, human-readable and derived from content, so an item gets the same key whether it
was fetched, imported from a pack, loaded from a folder or recovered from a damaged cache index.
"""

from __future__ import annotations

from core.attestation.collateral.errors import CollateralFetchError
from core.attestation.snp.tcb import Product, TcbVersion

AMD_VCEK = "amd.vcek"              # key: <product>/<hwID hex>/<KDS SPL query>
AMD_VLEK = "amd.vlek"              # key: <product>/<cspID>/<KDS SPL query>
AMD_CERT_CHAIN = "amd.cert_chain"  # key: vcek/<product> or vlek/<product> (KDS cert_chain body)
AMD_CA_CERT = "amd.ca_cert"        # key: <ARK|ASK|ASVK>/<product> (a loose CA certificate)
AMD_CRL = "amd.crl"                # key: vcek/<product> or vlek/<product>
INTEL_TCB_INFO = "intel.tcb_info"        # key: FMSPC, lowercase hex
INTEL_QE_IDENTITY = "intel.qe_identity"  # key: the identity id, e.g. TD_QE
INTEL_PCK_CRL = "intel.pck_crl"          # key: platform | processor
INTEL_ROOT_CRL = "intel.root_crl"        # key: root
INTEL_ISSUER_CHAIN = "intel.issuer_chain"  # key: tcb_signing | pck_platform | pck_processor | root

KINDS = (AMD_VCEK, AMD_VLEK, AMD_CERT_CHAIN, AMD_CA_CERT, AMD_CRL, INTEL_TCB_INFO,
         INTEL_QE_IDENTITY, INTEL_PCK_CRL, INTEL_ROOT_CRL, INTEL_ISSUER_CHAIN)
CERTIFICATE_KINDS = (AMD_VCEK, AMD_VLEK, AMD_CA_CERT)
CHAIN_KINDS = (AMD_CERT_CHAIN, INTEL_ISSUER_CHAIN)
CRL_KINDS = (AMD_CRL, INTEL_PCK_CRL, INTEL_ROOT_CRL)
JSON_KINDS = (INTEL_TCB_INFO, INTEL_QE_IDENTITY)

TDX_QE_IDENTITY_ID = "TD_QE"
ROOT_KEY = "root"


def kds_product(product: Product | str) -> Product:
    """The KDS product for a product or a marketing name (Siena and Bergamo are served as Genoa)."""
    if isinstance(product, Product):
        return product
    resolved = Product.from_name(product)
    if resolved is None:
        raise CollateralFetchError(
            f"'{product}' is not an AMD EPYC product AMD KDS serves (Milan, Genoa, Siena, Bergamo, Turin)",
            code="collateral-product")
    return resolved


def spl_query(tcb: TcbVersion) -> str:
    """The KDS query string for a TCB, FMC first on Turin-style TCBs (decimal values)."""
    parts = [("fmcSPL", tcb.fmc)] if tcb.fmc is not None else []
    parts += [("blSPL", tcb.bootloader), ("teeSPL", tcb.tee), ("snpSPL", tcb.snp),
              ("ucodeSPL", tcb.microcode)]
    return "&".join(f"{name}={value}" for name, value in parts)


def vcek_key(product: Product | str, hw_id: bytes, tcb: TcbVersion) -> str:
    return f"{kds_product(product).value}/{hw_id.hex()}/{spl_query(tcb)}"


def vlek_key(product: Product | str, csp_id: str, tcb: TcbVersion) -> str:
    return f"{kds_product(product).value}/{csp_id}/{spl_query(tcb)}"


def amd_chain_key(product: Product | str, *, vlek: bool = False) -> str:
    return f"{'vlek' if vlek else 'vcek'}/{kds_product(product).value}"


def intel_pck_chain_key(ca: str) -> str:
    return f"pck_{ca}"


def fmspc_key(fmspc: bytes | str) -> str:
    return (fmspc.hex() if isinstance(fmspc, bytes) else fmspc).lower()
