"""Steps 4 and 5 of ATTESTATION.md §4.1: event-log replay, PCR16 against the manifest, boot PCRs."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from core.attestation.verdict import Verdict
from core.attestation.vtpm.algorithms import TpmAlg, alg_name
from core.attestation.vtpm.attestation import PcrBank
from core.attestation.vtpm.checks import validate_check, verify_check
from core.attestation.vtpm.errors import EventLogError
from core.attestation.vtpm.eventlog import parse_event_log
from core.cocos.computation import Computation
from core.cocos.manifest import expected_pcr16

PCR16 = 16
BOOT_PCRS = range(10)
_PCR16_BANKS = (("sha256", TpmAlg.SHA256), ("sha384", TpmAlg.SHA384))


def check_event_log(verdict: Verdict, event_log: bytes, banks: Mapping[int, PcrBank]) -> None:
    """Replay the firmware log per bank and compare every PCR it touches with the quoted value."""
    if not event_log:
        verdict.add(verify_check("vtpm.eventlog.replay", None,
                                 "The evidence has no firmware event log, so the boot PCRs cannot be "
                                 "explained event by event (replay is optional)."))
        return
    try:
        log = parse_event_log(event_log)
    except EventLogError as exc:
        verdict.add(verify_check("vtpm.eventlog.replay", False, f"The firmware event log cannot be read: {exc}."))
        return
    compared, mismatches = [], []
    for alg, replayed in log.replay().items():
        bank = banks.get(alg)
        if bank is None:
            continue
        for index, value in sorted(replayed.items()):
            quoted = bank.get(index)
            if quoted is None:
                continue
            compared.append(f"{bank.name}:{index}")
            if not hmac.compare_digest(quoted, value):
                mismatches.append(f"{bank.name} PCR{index}: log gives {value.hex()}, quote has {quoted.hex()}")
    if not compared:
        verdict.add(verify_check("vtpm.eventlog.replay", None,
                                 "The event log and the quotes share no PCR, so there is nothing "
                                 "to compare.", actual=f"log banks: {', '.join(alg_name(a) for a in log.banks)}"))
        return
    ok = not mismatches
    verdict.add(verify_check(
        "vtpm.eventlog.replay", ok,
        f"Replaying the {len(log.events)} events of the firmware log reproduces every quoted PCR it covers."
        if ok else "The firmware event log does not reproduce the quoted PCR values: the log was altered "
        "or belongs to another boot (" + "; ".join(mismatches) + ").",
        expected="replayed values", actual=", ".join(compared) if ok else "; ".join(mismatches)))


def check_pcr16(verdict: Verdict, banks: Mapping[int, PcrBank], computation: Computation | None) -> None:
    """PCR16 == H(0...0 || SHA3(manifest Go-JSON)) in each of the sha256 and sha384 banks present."""
    if computation is None:
        verdict.add(validate_check("vtpm.pcr16.manifest", None,
                                   "No computation was given, so PCR16 was not compared with a manifest."))
        return
    expected = expected_pcr16(computation)
    compared, mismatches = [], []
    for name, alg in _PCR16_BANKS:
        bank = banks.get(alg)
        actual = bank.get(PCR16) if bank is not None else None
        if actual is None:
            continue
        compared.append(name)
        if not hmac.compare_digest(actual, expected[name]):
            hint = " (still zero: the agent has not received a manifest yet)" if not any(actual) else ""
            mismatches.append(f"{name}: {actual.hex()}{hint}")
    want = "; ".join(f"{n}: {expected[n].hex()}" for n, _ in _PCR16_BANKS)
    if not compared:
        verdict.add(validate_check(
            "vtpm.pcr16.manifest", False,
            "No verified quote includes PCR16 in the sha256 or sha384 bank, so nothing shows which "
            "manifest the agent is running.", expected=want, actual="PCR16 not quoted"))
        return
    ok = not mismatches
    verdict.add(validate_check(
        "vtpm.pcr16.manifest", ok,
        f"PCR16 ({', '.join(compared)}) shows the agent received exactly this computation's manifest."
        if ok else "PCR16 does not match this computation's manifest: the agent is running a different "
        "manifest (" + "; ".join(mismatches) + ").", expected=want,
        actual="match" if ok else "; ".join(mismatches)))


def check_boot_pcrs(verdict: Verdict, banks: Mapping[int, PcrBank],
                    reference: Mapping[int, Mapping[int, bytes]] | None) -> None:
    """Boot PCRs 0-9: compared with ``reference`` ({bank alg: {index: value}}) or recorded."""
    bank = banks.get(TpmAlg.SHA256) or next(iter(banks.values()), None)
    if reference is None:
        shown = [f"{bank.name}:{i}={v.hex()}" for i, v in bank.values if i in BOOT_PCRS] if bank else []
        verdict.add(validate_check(
            "vtpm.pcr.boot", None,
            "Boot PCRs 0-9 are recorded for information: Cocos publishes no reference values for them.",
            actual="; ".join(shown) or "no verified boot PCRs"))
        return
    mismatches, compared = [], 0
    for alg, values in reference.items():
        quoted = banks.get(alg)
        for index, value in sorted(values.items()):
            actual = quoted.get(index) if quoted is not None else None
            compared += 1
            if actual is None or not hmac.compare_digest(actual, value):
                mismatches.append(f"{alg_name(alg)} PCR{index}: "
                                  f"{actual.hex() if actual is not None else 'not quoted'}")
    ok = not mismatches
    verdict.add(validate_check(
        "vtpm.pcr.boot", ok,
        f"All {compared} reference boot PCR values match the verified quotes." if ok else
        "Boot PCRs differ from the reference values: the VM booted different firmware, kernel or "
        "command line (" + "; ".join(mismatches) + ").",
        actual="match" if ok else "; ".join(mismatches)))
