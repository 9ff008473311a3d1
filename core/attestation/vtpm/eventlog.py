"""The TCG crypto-agile firmware event log (TCG PC Client Platform Firmware Profile, §10): parse,
replay and build.

Layout (little-endian, unlike the TPM structures):
* one TCG_PCClientPCREvent in the old SHA-1 format whose event data is the Spec ID event
  ("Spec ID Event03"), listing every bank and its digest size;
* then TCG_PCR_EVENT2 entries: pcrIndex u32, eventType u32, TPML_DIGEST_VALUES (count u32, then
  {hashAlg u16, digest}), eventSize u32, event bytes.

Replay extends each digest into its bank starting from zeros, except that a StartupLocality
EV_NO_ACTION event sets PCR0's starting value to the locality. Other EV_NO_ACTION events are
never extended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.attestation.vtpm.algorithms import TpmAlg, alg_name, digest, digest_size, extend, is_hash
from core.attestation.vtpm.errors import EventLogError
from core.attestation.vtpm.reader import Reader

EV_NO_ACTION = 0x00000003
EV_SEPARATOR = 0x00000004
EV_EFI_ACTION = 0x80000007
SPEC_ID_SIGNATURE = b"Spec ID Event03\x00"
STARTUP_LOCALITY_SIGNATURE = b"StartupLocality\x00"
_MAX_ALGORITHMS = 16
_MAX_PCR_INDEX = 31
_MAX_EVENT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SpecIdEvent:
    platform_class: int
    spec_version: tuple[int, int, int]      # major, minor, errata
    uintn_size: int
    digest_sizes: tuple[tuple[int, int], ...]  # (algorithm id, digest size) in log order
    vendor_info: bytes


@dataclass(frozen=True, slots=True)
class Event:
    pcr_index: int
    event_type: int
    digests: tuple[tuple[int, bytes], ...]  # (algorithm id, digest) in log order
    data: bytes

    def digest_for(self, alg: int) -> bytes | None:
        return next((d for a, d in self.digests if a == alg), None)


@dataclass(frozen=True, slots=True)
class EventLog:
    spec: SpecIdEvent
    events: tuple[Event, ...]

    @property
    def banks(self) -> tuple[int, ...]:
        return tuple(alg for alg, _ in self.spec.digest_sizes)

    @property
    def startup_locality(self) -> int | None:
        for event in self.events:
            if (event.event_type == EV_NO_ACTION and event.pcr_index == 0
                    and event.data[:16] == STARTUP_LOCALITY_SIGNATURE and len(event.data) >= 17):
                return event.data[16]
        return None

    def replay(self) -> dict[int, dict[int, bytes]]:
        """Per bank (TPM hash id, for the banks this app can hash), the PCR values the log explains."""
        out: dict[int, dict[int, bytes]] = {}
        locality = self.startup_locality
        for alg, size in self.spec.digest_sizes:
            if not is_hash(alg):
                continue
            pcrs: dict[int, bytes] = {}
            for event in self.events:
                if event.event_type == EV_NO_ACTION:
                    continue
                measured = event.digest_for(alg)
                if measured is None:
                    continue
                start = pcrs.get(event.pcr_index)
                if start is None:
                    start = _initial(event.pcr_index, size, locality)
                pcrs[event.pcr_index] = extend(alg, start, measured)
            out[alg] = pcrs
        return out


def _initial(index: int, size: int, locality: int | None) -> bytes:
    if index == 0 and locality:
        return bytes(size - 1) + bytes([locality])
    return bytes(size)


def _spec_id(data: bytes) -> SpecIdEvent:
    r = Reader(data, "Spec ID event of the event log", order="little", error=EventLogError)
    if r.take(16, "signature") != SPEC_ID_SIGNATURE:
        raise r.fail("the first event is not a crypto-agile 'Spec ID Event03'; this is a SHA-1-only "
                     "log or not a TCG event log at all")
    platform, minor, major, errata = r.u32("platformClass"), r.u8("minor"), r.u8("major"), r.u8("errata")
    uintn = r.u8("uintnSize")
    count = r.u32("numberOfAlgorithms")
    if not 0 < count <= _MAX_ALGORITHMS:
        raise r.fail(f"it lists {count} hash algorithms; expected 1 to {_MAX_ALGORITHMS}")
    sizes = []
    for n in range(count):
        alg, size = r.u16(f"digestSizes[{n}].algorithmId"), r.u16(f"digestSizes[{n}].digestSize")
        if is_hash(alg) and size != digest_size(alg):
            raise r.fail(f"it gives {alg_name(alg)} a {size}-byte digest, which is wrong")
        if not 0 < size <= 64:
            raise r.fail(f"it gives algorithm {alg_name(alg)} a {size}-byte digest")
        if any(a == alg for a, _ in sizes):
            raise r.fail(f"it lists {alg_name(alg)} twice")
        sizes.append((alg, size))
    vendor = r.take(r.u8("vendorInfoSize"), "vendorInfo")
    r.finish()
    return SpecIdEvent(platform, (major, minor, errata), uintn, tuple(sizes), vendor)


def _event2(r: Reader, n: int, sizes: dict[int, int]) -> Event:
    pcr, event_type = r.u32(f"event {n} pcrIndex"), r.u32(f"event {n} eventType")
    if pcr > _MAX_PCR_INDEX:
        raise r.fail(f"event {n} names PCR {pcr}; a TPM has PCRs 0 to {_MAX_PCR_INDEX} at most")
    count = r.u32(f"event {n} digests.count")
    if count > len(sizes):
        raise r.fail(f"event {n} carries {count} digests, but the log declares {len(sizes)} banks")
    digests = []
    for _ in range(count):
        alg = r.u16(f"event {n} hashAlg")
        if alg not in sizes:
            raise r.fail(f"event {n} has a digest for {alg_name(alg)}, a bank the log did not declare")
        if any(a == alg for a, _ in digests):
            raise r.fail(f"event {n} has two digests for {alg_name(alg)}")
        digests.append((alg, r.take(sizes[alg], f"event {n} {alg_name(alg)} digest")))
    size = r.u32(f"event {n} eventSize")
    if size > _MAX_EVENT_BYTES:
        raise r.fail(f"event {n} claims {size} bytes of data")
    return Event(pcr, event_type, tuple(digests), r.take(size, f"event {n} data"))


def parse_event_log(data: bytes) -> EventLog:
    """Parse a crypto-agile log; EventLogError (an EvidenceError) on any malformation."""
    r = Reader(data, "TCG event log", order="little", error=EventLogError)
    # The header's pcrIndex is 0 in a TPM log; a TDX CCEL log numbers it by MR index (1), so it is
    # not checked. Its type and the Spec ID signature are.
    r.u32("header pcrIndex")
    event_type = r.u32("header eventType")
    r.take(20, "header digest")
    if event_type != EV_NO_ACTION:
        raise r.fail(f"it must start with an EV_NO_ACTION header event, not type 0x{event_type:x}")
    spec = _spec_id(r.take(r.u32("header eventSize"), "Spec ID event"))
    sizes = dict(spec.digest_sizes)
    # Log areas read from ACPI (TPM2 LASA, CCEL) keep their unused tail as 0xFF or 0x00 fill:
    # parsing stops where only fill remains.
    tail = r.peek_rest()
    fill_from = r.pos + min(len(tail.rstrip(b"\xff")), len(tail.rstrip(b"\x00")))
    events = []
    while r.pos < fill_from:
        events.append(_event2(r, len(events) + 1, sizes))
    return EventLog(spec, tuple(events))


# --- building (tests and the sandbox TEE) -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event to write: its data is hashed with every bank unless ``digests`` is given."""

    pcr_index: int
    event_type: int
    data: bytes
    digests: tuple[tuple[int, bytes], ...] | None = None


def build_event_log(events: Iterable[EventSpec], *,
                    banks: Iterable[int] = (TpmAlg.SHA1, TpmAlg.SHA256, TpmAlg.SHA384),
                    startup_locality: int | None = None) -> bytes:
    banks = tuple(banks)
    sizes = [(alg, digest_size(alg)) for alg in banks]
    spec = (SPEC_ID_SIGNATURE + _le(0, 4) + bytes([0, 2, 0, 2]) + _le(len(sizes), 4)
            + b"".join(_le(a, 2) + _le(s, 2) for a, s in sizes) + b"\x00")
    out = [_le(0, 4) + _le(EV_NO_ACTION, 4) + bytes(20) + _le(len(spec), 4) + spec]
    specs = list(events)
    if startup_locality is not None:
        specs.insert(0, EventSpec(0, EV_NO_ACTION, STARTUP_LOCALITY_SIGNATURE + bytes([startup_locality]),
                                  tuple((a, bytes(s)) for a, s in sizes)))
    for ev in specs:
        digests = ev.digests if ev.digests is not None else tuple((a, digest(a, ev.data)) for a in banks)
        out.append(_le(ev.pcr_index, 4) + _le(ev.event_type, 4) + _le(len(digests), 4)
                   + b"".join(_le(a, 2) + d for a, d in digests) + _le(len(ev.data), 4) + ev.data)
    return b"".join(out)


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")
