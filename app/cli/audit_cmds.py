"""prism audit list|verify"""

from __future__ import annotations

import argparse

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="read and verify the workspace's hash-chained audit log")
    asub = audit.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = asub.add_parser("list", help="list audit events, oldest first")
    p.add_argument("--action-prefix", help="only actions starting with this, e.g. 'key.'")
    p.add_argument("--text", help="only events containing this text")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_)

    p = asub.add_parser("verify", help="check that no event was edited, removed or reordered")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=verify)


def list_(ctx: Context) -> int:
    a = ctx.args
    events = ctx.workspace.audit.events(limit=a.limit, action_prefix=a.action_prefix, text=a.text)
    if a.json:
        ctx.emit_json([
            {"seq": e.seq, "time": e.time.isoformat(), "actor": e.actor, "action": e.action,
             "subject": e.subject, "details": e.details, "prev_hash": e.prev_hash, "hash": e.hash}
            for e in events
        ])
    else:
        ctx.table(["SEQ", "TIME (UTC)", "ACTOR", "ACTION", "SUBJECT"],
                  [[e.seq, e.time.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.subject] for e in events])
    return EXIT_OK


def verify(ctx: Context) -> int:
    report = ctx.workspace.audit.verify_chain()
    if ctx.args.json:
        ctx.emit_json({"ok": report.ok, "checked": report.checked,
                       "first_bad_seq": report.first_bad_seq, "problem": report.problem})
    elif report.ok:
        ctx.out(f"audit chain intact: {report.checked} events")
    else:
        ctx.out(f"audit chain BROKEN at event {report.first_bad_seq}: {report.problem}")
    return EXIT_OK if report.ok else EXIT_REFUSED
