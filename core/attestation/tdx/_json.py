"""Strict typed access to collateral JSON, with errors that name the offending path."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .errors import TdxEvidenceError


def bad(what: str, path: str, problem: str) -> TdxEvidenceError:
    return TdxEvidenceError(
        f"the {what} is malformed: {path} {problem}; fetch it again from Intel PCS or a PCCS",
        code="tdx-bad-collateral",
    )


class Reader:
    """Reads fields of one JSON object; ``what`` names the document in error messages."""

    __slots__ = ("obj", "path", "what")

    def __init__(self, obj: Any, path: str, what: str) -> None:
        if not isinstance(obj, dict):
            raise bad(what, path, "is not an object")
        self.obj, self.path, self.what = obj, path, what

    def _raw(self, key: str, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise bad(self.what, f"{self.path}.{key}", "is missing")
        return self.obj[key]

    def int(self, key: str, optional: bool = False) -> int | None:
        value = self._raw(key, optional)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(self.what, f"{self.path}.{key}", "is not a non-negative integer")
        return value

    def req_int(self, key: str) -> int:
        value = self.int(key)
        assert value is not None
        return value

    def str(self, key: str) -> str:
        value = self._raw(key)
        if not isinstance(value, str):
            raise bad(self.what, f"{self.path}.{key}", "is not a string")
        return value

    def hex(self, key: str, size: int) -> bytes:
        text = self.str(key)
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise bad(self.what, f"{self.path}.{key}", "is not hexadecimal") from None
        if len(value) != size:
            raise bad(self.what, f"{self.path}.{key}", f"is {len(value)} bytes, expected {size}")
        return value

    def date(self, key: str) -> datetime:
        text = self.str(key)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise bad(self.what, f"{self.path}.{key}", f"is not an ISO 8601 time ({text!r})") from None
        if value.tzinfo is None:
            raise bad(self.what, f"{self.path}.{key}", "has no time zone")
        return value.astimezone(timezone.utc)

    def list(self, key: str, optional: bool = False) -> list[Any]:
        value = self._raw(key, optional)
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise bad(self.what, f"{self.path}.{key}", "is not a list")
        return value

    def child(self, key: str) -> Reader:
        return Reader(self._raw(key), f"{self.path}.{key}", self.what)

    def str_list(self, key: str) -> tuple[str, ...]:
        items = self.list(key, optional=True)
        if not all(isinstance(i, str) for i in items):
            raise bad(self.what, f"{self.path}.{key}", "is not a list of strings")
        return tuple(items)
