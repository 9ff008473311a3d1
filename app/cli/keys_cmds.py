"""prism keys ... — the offline keystore from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.context import (
    EXIT_OK, EXIT_REFUSED, Context, check_output_dir, check_output_file, make_output_dir, read_input_file,
    read_secret_file, write_private_file, write_public_file,
)
from core.errors import BadInput

KEY_TYPES = ("rsa", "ecdsa-p256", "ecdsa-p384", "ed25519")


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="participant keys in the encrypted offline keystore")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = ksub.add_parser("init", help="create this workspace's keystore")
    p.add_argument("--keyring", action="store_true", help="keep the master key in the system keyring")
    p.set_defaults(func=init)

    p = ksub.add_parser("generate", help="generate a key pair")
    p.add_argument("name")
    p.add_argument("--type", dest="key_type", choices=KEY_TYPES, default="ed25519")
    p.add_argument("--label", default="")
    p.add_argument("--keyring", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=generate)

    p = ksub.add_parser("list", help="list keys with fingerprints")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_)

    p = ksub.add_parser("import", help="import a private key file (PEM/DER, PKCS#8, PKCS#1, SEC1, cocos-cli)")
    p.add_argument("file")
    p.add_argument("--name", required=True)
    p.add_argument("--label", default="")
    p.add_argument("--key-password-file", help="password of an encrypted PKCS#8 file")
    p.add_argument("--keyring", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=import_)

    p = ksub.add_parser("export-public", help="print the public key")
    p.add_argument("name")
    p.add_argument("--format", choices=("pem", "der-b64"), default="pem")
    p.set_defaults(func=export_public)

    p = ksub.add_parser("export", help="export the private key")
    p.add_argument("name")
    p.add_argument("--out", required=True, help="file (pkcs8) or directory (cocos-cli: private.pem, public.pem)")
    p.add_argument("--format", choices=("pkcs8", "cocos-cli"), default="pkcs8")
    p.add_argument("--export-passphrase-file", help="passphrase that encrypts the PKCS#8 file")
    p.add_argument("--confirm-plaintext", action="store_true",
                   help="accept writing an UNENCRYPTED private key (cocos-cli layout)")
    p.set_defaults(func=export)

    p = ksub.add_parser("delete", help="delete a key")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=delete)

    p = ksub.add_parser("sign-role", help="print the agent 'signature' metadata for a role")
    p.add_argument("name")
    p.add_argument("role", choices=("algorithm-provider", "data-provider", "consumer"))
    p.set_defaults(func=sign_role)

    p = ksub.add_parser("passwd", help="change the keystore passphrase (or move it to the keyring)")
    p.add_argument("--new-passphrase-file")
    p.add_argument("--keyring", dest="to_keyring", action="store_true", help="keep the key in the system keyring")
    p.set_defaults(func=passwd)

    p = ksub.add_parser("backup", help="write the whole keystore to one encrypted file")
    p.add_argument("--out", required=True)
    p.add_argument("--backup-passphrase-file", help="passphrase for the backup (without --shares)")
    p.add_argument("--shares", type=int, help="split the backup secret into N Shamir shares")
    p.add_argument("--threshold", type=int, help="shares needed to restore (K of N)")
    p.add_argument("--shares-dir", help="write each share to its own 0600 file here instead of printing")
    p.set_defaults(func=backup)

    p = ksub.add_parser("restore", help="restore a backup into this workspace (which must have no keystore)")
    p.add_argument("file")
    p.add_argument("--backup-passphrase-file")
    p.add_argument("--share", action="append", default=[], help="a share string (repeat)")
    p.add_argument("--share-file", action="append", default=[], help="a file holding one share (repeat)")
    p.add_argument("--keyring", action="store_true", help="protect the restored keystore with the keyring")
    p.set_defaults(func=restore)


def init(ctx: Context) -> int:
    ks = ctx.keystore(create=True)
    ctx.out(f"keystore ready ({ks.mode}) at {ks.path}")
    return EXIT_OK


def generate(ctx: Context) -> int:
    from core.keys.types import KeyType

    entry = ctx.keystore(create=True).generate(ctx.args.name, KeyType(ctx.args.key_type), label=ctx.args.label)
    ctx.out(f"generated {entry.key_type.value} key '{entry.name}'\nfingerprint {entry.fingerprint}")
    return EXIT_OK


def list_(ctx: Context) -> int:
    entries = ctx.keystore().list()
    if ctx.args.json:
        ctx.emit_json([
            {"name": e.name, "type": e.key_type.value, "fingerprint": e.fingerprint,
             "created_at": e.created_at.isoformat(), "label": e.label, "purpose": e.purpose}
            for e in entries
        ])
    else:
        ctx.table(["NAME", "TYPE", "PURPOSE", "CREATED", "FINGERPRINT (SHA-256 of SPKI)"],
                  [[e.name, e.key_type.value, e.purpose, e.created_at.strftime("%Y-%m-%d"), e.fingerprint]
                   for e in entries])
    return EXIT_OK


def import_(ctx: Context) -> int:
    data = read_input_file(ctx.args.file)
    password = None
    if ctx.args.key_password_file:
        password = read_secret_file(ctx.args.key_password_file).encode()
    entry = ctx.keystore(create=True).import_key(ctx.args.name, data, password=password, label=ctx.args.label)
    ctx.out(f"imported {entry.key_type.value} key '{entry.name}'\nfingerprint {entry.fingerprint}")
    return EXIT_OK


def export_public(ctx: Context) -> int:
    ctx.out(ctx.keystore().export_public(ctx.args.name, ctx.args.format).rstrip("\n"))
    return EXIT_OK


def export(ctx: Context) -> int:
    a = ctx.args
    out = Path(a.out)
    # the export is audited as done, so a place that cannot take the file must fail first
    if a.format == "pkcs8":
        check_output_file(out)
    else:
        check_output_dir(out)
    ks = ctx.keystore()
    if a.format == "pkcs8":
        if a.export_passphrase_file:
            secret = read_secret_file(a.export_passphrase_file)
        else:
            secret = ctx.prompt_secret("Passphrase for the exported key: ", confirm=True)
        if not secret:
            raise BadInput("an exported private key is always encrypted: give --export-passphrase-file")
        files = ks.export_private(a.name, "pkcs8", passphrase=secret.encode())
        write_private_file(out, files["key.pem"])
        ctx.out(f"wrote encrypted PKCS#8 key to {out}")
        return EXIT_OK
    if not ctx.confirm("This writes the private key UNENCRYPTED in the cocos-cli layout. Continue?",
                       a.confirm_plaintext):
        ctx.out("not exported: the cocos-cli layout is unencrypted; confirm with --confirm-plaintext")
        return EXIT_REFUSED
    files = ks.export_private(a.name, "cocos-cli", confirm_plaintext=True)
    make_output_dir(out)
    write_private_file(out / "private.pem", files["private.pem"])
    write_public_file(out / "public.pem", files["public.pem"])
    ctx.out(f"wrote {out / 'private.pem'} (mode 0600, unencrypted) and {out / 'public.pem'}")
    return EXIT_OK


def delete(ctx: Context) -> int:
    from core.ca.authority import CA_KEY_NAME

    ks = ctx.keystore()
    entry = ks.get(ctx.args.name)
    # The keystore refuses CA keys; one the CA does not use (its certificate is gone or was never
    # stored) breaks nothing, and 'prism ca init' asks for exactly that deletion.
    in_use = entry.purpose == "ca" and entry.name == CA_KEY_NAME and ctx.authority(unlock=False).is_initialised
    if in_use:
        ks.delete(entry.name)  # refused by the keystore, with the reason and what to do instead
    if entry.purpose == "tls":
        print(f"prism: warning: '{entry.name}' is the key of a TLS certificate issued by the local CA; without "
              "it that certificate can no longer be exported with its key (PKCS#12)", file=sys.stderr)
    if not ctx.confirm(f"Delete key '{entry.name}' for good?", ctx.args.yes):
        ctx.out("not deleted (confirm with --yes)")
        return EXIT_REFUSED
    ks.delete(entry.name, allow_ca=not in_use)
    ctx.out(f"deleted key '{entry.name}'")
    return EXIT_OK


def sign_role(ctx: Context) -> int:
    ctx.out(ctx.keystore().sign_role(ctx.args.name, ctx.args.role))
    return EXIT_OK


def passwd(ctx: Context) -> int:
    ks = ctx.keystore()
    if ctx.args.to_keyring:
        ks.change_passphrase(None, use_keyring=True)
        ctx.out("keystore key moved to the system keyring")
        return EXIT_OK
    if ctx.args.new_passphrase_file:
        new = read_secret_file(ctx.args.new_passphrase_file)
    else:
        new = ctx.prompt_secret("New passphrase: ", confirm=True)
    if not new:
        raise BadInput("no new passphrase given: use --new-passphrase-file or run interactively")
    ks.change_passphrase(new)
    ctx.out("keystore passphrase changed")
    return EXIT_OK


def backup(ctx: Context) -> int:
    a = ctx.args
    if (a.shares is None) != (a.threshold is None):
        raise BadInput("--shares and --threshold go together (K of N)")
    # the backup is audited and its shares exist only once: every output place must work first
    check_output_file(Path(a.out))
    if a.shares_dir:
        check_output_dir(Path(a.shares_dir))
    ks = ctx.keystore()
    if a.shares is None:
        secret = read_secret_file(a.backup_passphrase_file) if a.backup_passphrase_file else \
            ctx.prompt_secret("Backup passphrase: ", confirm=True)
        if not secret:
            raise BadInput("a backup needs --backup-passphrase-file or --shares/--threshold")
        ks.backup(a.out, passphrase=secret)
        ctx.out(f"wrote encrypted backup to {a.out}")
        return EXIT_OK
    shares = ks.backup(a.out, shares=a.shares, threshold=a.threshold)
    ctx.out(f"wrote encrypted backup to {a.out}; any {a.threshold} of these {a.shares} shares restore it:")
    if a.shares_dir:
        make_output_dir(Path(a.shares_dir))
        for i, share in enumerate(shares, 1):
            path = Path(a.shares_dir) / f"share-{i}-of-{a.shares}.txt"
            write_private_file(path, (share + "\n").encode())
            ctx.out(f"  {path}")
    else:
        for share in shares:
            ctx.out(share)
    return EXIT_OK


def restore(ctx: Context) -> int:
    from core.keys.keystore import Keystore

    a = ctx.args
    shares = list(a.share) + [read_secret_file(f) for f in a.share_file]
    passphrase = read_secret_file(a.backup_passphrase_file) if a.backup_passphrase_file else None
    if not shares and not passphrase:
        raise BadInput("give the backup passphrase (--backup-passphrase-file) or its shares (--share/--share-file)")
    ws = ctx.workspace
    new_passphrase = None if a.keyring else ctx.passphrase(prompt="Passphrase for the restored keystore: ",
                                                           confirm=True)
    if not a.keyring and not new_passphrase:
        raise BadInput("the restored keystore needs a passphrase (--passphrase-file / PRISM_PASSPHRASE) or --keyring")
    ks = Keystore.restore(a.file, ws.keystore_path, passphrase=passphrase, shares=shares or None,
                          new_passphrase=new_passphrase, use_keyring=a.keyring, on_event=ws.audit_hook)
    ctx.out(f"restored {len(ks.list())} keys into workspace '{ws.name}'")
    ks.close()
    return EXIT_OK
