"""Async plumbing for the GUI: one qasync loop, tasks with strong references, Anki-style ops.

Rules this module enforces for the rest of app/:
- a coroutine started from a slot goes through ``spawn`` so it is never garbage-collected mid-flight
  and its exception reaches one handler instead of vanishing;
- CPU work (Argon2id, RSA key generation, SQLite queries) runs in a worker thread via ``Op`` and its
  callbacks run back on the GUI thread, so they may touch widgets;
- dialogs are shown with ``open()`` and awaited (``run_dialog``), never with ``exec()`` inside a
  coroutine, which would nest a second event loop under the running one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog

log = logging.getLogger(__name__)

T = TypeVar("T")
ErrorHandler = Callable[[BaseException], None]

_tasks: set[asyncio.Task[Any]] = set()
_open_dialogs: list[QDialog] = []


def _log_error(error: BaseException) -> None:
    log.error("unhandled error in a background task", exc_info=error)


_error_handler: ErrorHandler = _log_error


def set_error_handler(handler: ErrorHandler | None) -> ErrorHandler:
    """Route exceptions that no one handled to ``handler``; returns the previous handler."""
    global _error_handler
    previous = _error_handler
    _error_handler = handler or _log_error
    return previous


def report_error(error: BaseException) -> None:
    """Hand an unexpected exception to the installed handler (never raises)."""
    try:
        _error_handler(error)
    except Exception:  # a broken handler must not take the loop down with it
        log.exception("the error handler itself failed")


def spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start ``coro`` on the running loop, keep it alive until done, report its failure."""
    task = asyncio.get_event_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_task_done)
    return task


def _task_done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        report_error(error)


def pending_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in _tasks if not task.done()]


async def cancel_pending(timeout: float = 5.0) -> None:
    """Cancel every spawned task and wait for them to unwind (called before the loop stops)."""
    tasks = pending_tasks()
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


def _owners(cb: Callable[..., Any]) -> tuple[Any, ...]:
    """The Qt objects a callback acts on: its bound instance, a partial's arguments and the
    objects its closure captured (``lambda r: self.show(r)`` captures the view)."""
    from PySide6.QtCore import QObject

    candidates: list[Any] = [getattr(cb, "__self__", None)]
    inner = getattr(cb, "func", None)  # functools.partial
    if inner is not None:
        candidates += [getattr(inner, "__self__", None), *getattr(cb, "args", ())]
    for cell in getattr(cb, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        candidates += [value, getattr(value, "__self__", None)]
    return tuple(c for c in candidates if isinstance(c, QObject))


def _guarded(cb: Callable[..., Any]) -> Callable[..., None]:
    """``cb`` that does nothing once its widget is gone: a result that arrives after the view
    was closed has no one to show it to, and touching the deleted widget would raise."""
    owners = _owners(cb)
    if not owners:
        return cb

    def call(*args: Any) -> None:
        import shiboken6

        if all(shiboken6.isValid(owner) for owner in owners):
            cb(*args)
        else:
            log.debug("dropped a callback of a deleted widget: %r", cb)

    return call


class Op(Generic[T]):
    """``Op(fn, *args).success(cb).failure(cb).progress(cb).run()``.

    ``fn`` runs in a worker thread (``asyncio.to_thread``); every callback runs on the loop's
    thread (the GUI thread). When a progress callback is set, ``fn`` receives a keyword argument
    ``progress`` it may call from the worker with any positional values. Callbacks must not
    raise; if they do, the error goes to the global handler. Without a failure callback the
    error goes to the global handler too. A callback whose widget (its bound instance or an
    object its closure captured) was deleted meanwhile is skipped, so no view needs its own guard.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[BaseException], None] | None = None
        self._on_progress: Callable[..., None] | None = None
        self._on_done: Callable[[], None] | None = None
        self.task: asyncio.Task[T | None] | None = None

    def success(self, cb: Callable[[T], None]) -> Op[T]:
        self._on_success = _guarded(cb)
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> Op[T]:
        self._on_failure = _guarded(cb)
        return self

    def progress(self, cb: Callable[..., None]) -> Op[T]:
        self._on_progress = _guarded(cb)
        return self

    def done(self, cb: Callable[[], None]) -> Op[T]:
        """Called after success or failure (e.g. to hide a busy indicator)."""
        self._on_done = _guarded(cb)
        return self

    def run(self) -> asyncio.Task[T | None]:
        self.task = spawn(self._run())
        return self.task

    async def _run(self) -> T | None:
        kwargs = dict(self._kwargs)
        if self._on_progress is not None:
            kwargs["progress"] = self._progress_reporter(asyncio.get_running_loop())
        try:
            result = await asyncio.to_thread(self._fn, *self._args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - every failure goes to a callback or the handler
            self._finish()
            if self._on_failure is None:
                raise
            self._on_failure(error)
            return None
        self._finish()
        if self._on_success is not None:
            self._on_success(result)
        return result

    def _finish(self) -> None:
        if self._on_done is not None:
            self._on_done()

    def _progress_reporter(self, loop: asyncio.AbstractEventLoop) -> Callable[..., None]:
        callback = self._on_progress
        assert callback is not None

        def report(*values: Any) -> None:
            # called from the worker thread: hop to the GUI thread before touching anything
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback, *values)

        return report


async def run_dialog(dialog: QDialog) -> int:
    """Show ``dialog`` window-modally with ``open()`` and wait for its result code."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(int(result))

    dialog.finished.connect(finished)
    _open_dialogs.append(dialog)
    dialog.open()
    try:
        return await future
    except asyncio.CancelledError:
        dialog.reject()
        raise
    finally:
        if dialog in _open_dialogs:
            _open_dialogs.remove(dialog)
        dialog.finished.disconnect(finished)


def open_dialogs() -> list[QDialog]:
    """Dialogs currently awaited through ``run_dialog`` (newest last); tests drive them."""
    return list(_open_dialogs)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> None:
    """Yield to the loop until ``predicate()`` holds; TimeoutError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
