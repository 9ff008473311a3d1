"""Intel TDX TCB Info v3 and TD QE Identity v2 as typed objects (ATTESTATION.md §3.6).

These parse the *inner* signed object; ``collateral.py`` extracts it from the served document
with its exact bytes so the signature can be checked over what Intel signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._json import Reader, bad

TCB_STATUSES = (
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
)
TCB_INFO_WHAT = "TDX TCB Info"
QE_IDENTITY_WHAT = "TD QE Identity"


@dataclass(frozen=True, slots=True)
class TcbLevel:
    """A platform TCB level: 16 SGX SVNs, PCESVN, 16 TDX SVNs; index 0 = component 1."""

    sgx_tcb_components: tuple[int, ...]
    pce_svn: int
    tdx_tcb_components: tuple[int, ...]
    tcb_date: datetime
    tcb_status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IsvTcbLevel:
    """A level keyed by one ISVSVN (TDX module identities and the QE identity)."""

    isv_svn: int
    tcb_date: datetime
    tcb_status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TdxModule:
    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes


@dataclass(frozen=True, slots=True)
class TdxModuleIdentity:
    id: str
    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes
    tcb_levels: tuple[IsvTcbLevel, ...]


@dataclass(frozen=True, slots=True)
class TcbInfo:
    id: str
    version: int
    issue_date: datetime
    next_update: datetime
    fmspc: bytes
    pce_id: bytes
    tcb_type: int
    tcb_evaluation_data_number: int
    tdx_module: TdxModule
    tdx_module_identities: tuple[TdxModuleIdentity, ...]
    tcb_levels: tuple[TcbLevel, ...]


@dataclass(frozen=True, slots=True)
class QeIdentity:
    id: str
    version: int
    issue_date: datetime
    next_update: datetime
    tcb_evaluation_data_number: int
    miscselect: bytes
    miscselect_mask: bytes
    attributes: bytes
    attributes_mask: bytes
    mrsigner: bytes
    isvprodid: int
    tcb_levels: tuple[IsvTcbLevel, ...]


def _status(r: Reader) -> str:
    status = r.str("tcbStatus")
    if status not in TCB_STATUSES:
        raise bad(r.what, f"{r.path}.tcbStatus", f"is an unknown status {status!r}")
    return status


def _svns(r: Reader, key: str) -> tuple[int, ...]:
    items = r.list(key)
    if len(items) != 16:
        raise bad(r.what, f"{r.path}.{key}", f"has {len(items)} components, expected 16")
    return tuple(Reader(c, f"{r.path}.{key}[{i}]", r.what).req_int("svn") for i, c in enumerate(items))


def _tcb_level(obj: Any, path: str) -> TcbLevel:
    r = Reader(obj, path, TCB_INFO_WHAT)
    tcb = r.child("tcb")
    return TcbLevel(
        sgx_tcb_components=_svns(tcb, "sgxtcbcomponents"),
        pce_svn=tcb.req_int("pcesvn"),
        tdx_tcb_components=_svns(tcb, "tdxtcbcomponents"),
        tcb_date=r.date("tcbDate"),
        tcb_status=_status(r),
        advisory_ids=r.str_list("advisoryIDs"),
    )


def _isv_level(obj: Any, path: str, what: str) -> IsvTcbLevel:
    r = Reader(obj, path, what)
    return IsvTcbLevel(
        isv_svn=r.child("tcb").req_int("isvsvn"),
        tcb_date=r.date("tcbDate"),
        tcb_status=_status(r),
        advisory_ids=r.str_list("advisoryIDs"),
    )


def _module_identity(obj: Any, path: str) -> TdxModuleIdentity:
    r = Reader(obj, path, TCB_INFO_WHAT)
    return TdxModuleIdentity(
        id=r.str("id"),
        mrsigner=r.hex("mrsigner", 48),
        attributes=r.hex("attributes", 8),
        attributes_mask=r.hex("attributesMask", 8),
        tcb_levels=tuple(
            _isv_level(x, f"{path}.tcbLevels[{i}]", TCB_INFO_WHAT)
            for i, x in enumerate(r.list("tcbLevels"))
        ),
    )


def parse_tcb_info_object(obj: Any) -> TcbInfo:
    """The inner ``tcbInfo`` object of a TDX TCB Info v3 document."""
    r = Reader(obj, "tcbInfo", TCB_INFO_WHAT)
    if r.str("id") != "TDX" or r.req_int("version") != 3:
        raise bad(TCB_INFO_WHAT, "tcbInfo.id/version",
                  f"is {r.obj.get('id')!r}/{r.obj.get('version')!r}, expected 'TDX'/3 "
                  "(an SGX TCB Info or an older version was supplied)")
    module = r.child("tdxModule")
    levels = r.list("tcbLevels")
    if not levels:
        raise bad(TCB_INFO_WHAT, "tcbInfo.tcbLevels", "is empty")
    return TcbInfo(
        id="TDX",
        version=3,
        issue_date=r.date("issueDate"),
        next_update=r.date("nextUpdate"),
        fmspc=r.hex("fmspc", 6),
        pce_id=r.hex("pceId", 2),
        tcb_type=r.req_int("tcbType"),
        tcb_evaluation_data_number=r.req_int("tcbEvaluationDataNumber"),
        tdx_module=TdxModule(
            module.hex("mrsigner", 48), module.hex("attributes", 8), module.hex("attributesMask", 8)
        ),
        tdx_module_identities=tuple(
            _module_identity(x, f"tcbInfo.tdxModuleIdentities[{i}]")
            for i, x in enumerate(r.list("tdxModuleIdentities", optional=True))
        ),
        tcb_levels=tuple(_tcb_level(x, f"tcbInfo.tcbLevels[{i}]") for i, x in enumerate(levels)),
    )


def parse_qe_identity_object(obj: Any) -> QeIdentity:
    """The inner ``enclaveIdentity`` object of a TD QE Identity v2 document."""
    r = Reader(obj, "enclaveIdentity", QE_IDENTITY_WHAT)
    if r.str("id") != "TD_QE" or r.req_int("version") != 2:
        raise bad(QE_IDENTITY_WHAT, "enclaveIdentity.id/version",
                  f"is {r.obj.get('id')!r}/{r.obj.get('version')!r}, expected 'TD_QE'/2 "
                  "(an SGX QE identity or an older version was supplied)")
    levels = r.list("tcbLevels")
    if not levels:
        raise bad(QE_IDENTITY_WHAT, "enclaveIdentity.tcbLevels", "is empty")
    return QeIdentity(
        id="TD_QE",
        version=2,
        issue_date=r.date("issueDate"),
        next_update=r.date("nextUpdate"),
        tcb_evaluation_data_number=r.req_int("tcbEvaluationDataNumber"),
        miscselect=r.hex("miscselect", 4),
        miscselect_mask=r.hex("miscselectMask", 4),
        attributes=r.hex("attributes", 16),
        attributes_mask=r.hex("attributesMask", 16),
        mrsigner=r.hex("mrsigner", 32),
        isvprodid=r.req_int("isvprodid"),
        tcb_levels=tuple(
            _isv_level(x, f"enclaveIdentity.tcbLevels[{i}]", QE_IDENTITY_WHAT)
            for i, x in enumerate(levels)
        ),
    )
