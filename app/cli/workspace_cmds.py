"""prism workspace create|list|rename|delete"""

from __future__ import annotations

import argparse

from app.cli.context import EXIT_OK, EXIT_REFUSED, Context


def register(sub: argparse._SubParsersAction) -> None:
    ws = sub.add_parser("workspace", help="create, list, rename and delete workspaces")
    wsub = ws.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = wsub.add_parser("create", help="create a workspace")
    p.add_argument("name")
    p.set_defaults(func=create)

    p = wsub.add_parser("list", help="list workspaces")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_)

    p = wsub.add_parser("rename", help="rename a workspace")
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=rename)

    p = wsub.add_parser("delete", help="delete a workspace and everything in it")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=delete)


def create(ctx: Context) -> int:
    ws = ctx.manager.create(ctx.args.name)
    ctx.out(f"created workspace '{ws.name}' at {ws.path}")
    ws.close()
    return EXIT_OK


def list_(ctx: Context) -> int:
    infos = ctx.manager.list()
    if ctx.args.json:
        ctx.emit_json([
            {"name": i.name, "path": str(i.path), "created_at": i.created_at.isoformat() if i.created_at else None,
             "has_keystore": i.has_keystore}
            for i in infos
        ])
    else:
        ctx.table(["NAME", "KEYSTORE", "CREATED", "PATH"],
                  [[i.name, "yes" if i.has_keystore else "no",
                    i.created_at.strftime("%Y-%m-%d %H:%M") if i.created_at else "-", i.path] for i in infos])
    return EXIT_OK


def rename(ctx: Context) -> int:
    ctx.manager.rename(ctx.args.old, ctx.args.new)
    ctx.out(f"renamed workspace '{ctx.args.old}' to '{ctx.args.new}'")
    return EXIT_OK


def delete(ctx: Context) -> int:
    name = ctx.args.name
    if not ctx.confirm(f"Delete workspace '{name}' with its keys, certificates and audit log?", ctx.args.yes):
        ctx.out("not deleted (confirm with --yes)")
        return EXIT_REFUSED
    ctx.manager.delete(name)
    ctx.out(f"deleted workspace '{name}'")
    return EXIT_OK
