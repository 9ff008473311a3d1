"""prism manifest checksum — the Cocos manifest checksum, as cocos-cli computes it."""

from __future__ import annotations

import argparse
import base64

from app.cli.context import EXIT_OK, Context, read_input_file


def register(sub: argparse._SubParsersAction) -> None:
    manifest = sub.add_parser("manifest", help="Cocos computation manifests")
    msub = manifest.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = msub.add_parser("checksum", help="SHA3-256 of the manifest re-serialised as cocos-cli does (hex)")
    p.add_argument("file")
    p.add_argument("-b", "--base64", action="store_true", help="print base64 instead of hex")
    p.set_defaults(func=checksum)


def checksum(ctx: Context) -> int:
    from core.cocos.manifest import checksum_of_json_file

    digest = checksum_of_json_file(read_input_file(ctx.args.file))
    ctx.out(base64.b64encode(digest).decode() if ctx.args.base64 else digest.hex())
    return EXIT_OK
