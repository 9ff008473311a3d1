"""`prism` — the scriptable command line of Prism Desktop. Imports core only, never Qt.

Exit codes: 0 success, 1 refused operation, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import logging
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


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for bad usage
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    ctx = Context(args, out=out)
    try:
        return args.func(ctx)
    except BadInput as exc:
        print(f"prism: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PrismError as exc:
        print(f"prism: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("prism: interrupted", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
