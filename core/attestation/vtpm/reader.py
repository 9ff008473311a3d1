"""A bounds-checked cursor over untrusted bytes.

Every read names the field it reads, so a truncated or inflated structure fails with a message
that says where; the error class is chosen by the caller (TPM structure, event log, ...).
"""

from __future__ import annotations

from typing import Literal

from core.attestation.vtpm.errors import VtpmEvidenceError


class Reader:
    """Reads fixed-size integers and length-prefixed byte strings in one byte order."""

    __slots__ = ("_data", "_pos", "_what", "_order", "_error")

    def __init__(self, data: bytes, what: str, *, order: Literal["big", "little"] = "big",
                 error: type[VtpmEvidenceError] = VtpmEvidenceError) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise error(f"the {what} must be bytes, not {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0
        self._what = what
        self._order = order
        self._error = error

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def fail(self, message: str) -> VtpmEvidenceError:
        """An error of the caller's class about this structure (raise it)."""
        return self._error(f"the {self._what} is malformed: {message}")

    def take(self, size: int, field: str) -> bytes:
        if size > self.remaining:
            raise self._error(
                f"the {self._what} is truncated: {field} needs {size} bytes at offset {self._pos}, "
                f"but only {self.remaining} remain")
        out = self._data[self._pos:self._pos + size]
        self._pos += size
        return out

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), self._order)

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    def u64(self, field: str) -> int:
        return self.uint(8, field)

    def sized(self, field: str, *, limit: int | None = None) -> bytes:
        """A TPM2B: a u16 size then that many bytes (``limit`` caps the size the spec allows)."""
        size = self.u16(f"{field} size")
        if limit is not None and size > limit:
            raise self.fail(f"{field} claims {size} bytes, more than the {limit} the TPM allows")
        return self.take(size, field)

    def peek_rest(self) -> bytes:
        """The unread bytes, without consuming them."""
        return self._data[self._pos:]

    def finish(self) -> None:
        """Refuse trailing bytes: a signed structure must be exactly what was parsed."""
        if self.remaining:
            raise self.fail(f"{self.remaining} unexpected bytes follow the end of the structure "
                            f"(at offset {self._pos})")
