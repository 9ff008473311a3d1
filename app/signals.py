"""``emit(signal, *args)``: emit a Qt signal from Python without corrupting ``True``'s refcount.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True``/``False`` without taking a reference.
Every discarded return value then drops one reference the interpreter never gave, and on
Python 3.11 (where bools are not immortal) the count of ``True`` eventually reaches zero and the
process aborts ("bool_dealloc: deallocating True or False"). Whether the running PySide6 has
the bug is probed once at import; only then is the missing reference given back.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _emit_drops_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True), sys.getrefcount(False)
    result = probe.ping.emit()
    del result
    after = sys.getrefcount(True), sys.getrefcount(False)
    if after[0] < before[0]:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))  # repay the probe's own loss
        return True
    if after[1] < before[1]:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(False))
        return True
    return False


EMIT_DROPS_REFERENCE = _emit_drops_a_reference()


def emit(signal: SignalInstance, *args: Any) -> None:
    result = signal.emit(*args)
    if EMIT_DROPS_REFERENCE and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
