"""`prism` — the scriptable command line of Prism Desktop. Imports core only, never Qt.

Exit codes: 0 success, 1 refused operation, 2 bad usage or unreadable input (or an unwritable place).
A reader that stops reading (``prism keys list | head``) ends the command quietly with 1: its output
was cut short, which a script should be able to notice.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Sequence

from app.cli import (
    agent_cmds, attest_cmds, audit_cmds, ca_cmds, collateral_cmds, demo_cmds, keys_cmds, manager_cmds, manifest_cmds,
    sandbox_cmds, workspace_cmds,
)
from app.cli.context import EXIT_BAD_INPUT, EXIT_REFUSED, Context
from core.errors import BadInput, PrismError

COMMAND_GROUPS = (
    workspace_cmds, keys_cmds, ca_cmds, audit_cmds, attest_cmds, collateral_cmds, manifest_cmds, sandbox_cmds,
    manager_cmds, agent_cmds, demo_cmds,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prism",
        description="Prism Desktop command line: workspaces, offline keys, local CA, audit log, attestation.",
    )
    parser.add_argument("--home", help="Prism home directory (default: $PRISM_HOME or the user data dir)")
    parser.add_argument("--workspace", default="default", help="workspace to act on (default: default)")
    parser.add_argument("--passphrase-file", help="file whose first line is the keystore passphrase")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


class OutputClosed(Exception):
    """Whoever reads our output closed it; not an error of the command itself."""


def _guarded(out: Callable[[str], None]) -> Callable[[str], None]:
    def write(text: str) -> None:
        try:
            out(text)
        except BrokenPipeError as exc:
            raise OutputClosed() from exc
    return write


def _flush_stdout() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError as exc:
        raise OutputClosed() from exc


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded, captured): nothing to silence
        pass


def _describe_os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for bad usage
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    ctx = Context(args, out=_guarded(out))
    try:
        code = args.func(ctx)
        _flush_stdout()
        return code
    except OutputClosed:
        _silence_stdout()
        return EXIT_REFUSED
    except BadInput as exc:
        print(f"prism: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PrismError as exc:
        print(f"prism: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:  # last resort: a place the command checks could not foresee
        print(f"prism: error: {_describe_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("prism: interrupted", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
