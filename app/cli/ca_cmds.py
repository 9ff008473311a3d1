"""prism ca ... — the workspace's local certificate authority."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.cli.context import (
    EXIT_OK, Context, check_output_dir, check_output_file, make_output_dir, read_input_file, read_secret_file,
    write_private_file, write_public_file,
)
from core.errors import AlreadyExists, BadInput


def register(sub: argparse._SubParsersAction) -> None:
    ca = sub.add_parser("ca", help="the workspace's local certificate authority")
    csub = ca.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = csub.add_parser("init", help="create the root CA (ECDSA P-384, key in the keystore)")
    p.add_argument("--cn", help="common name of the root")
    p.add_argument("--days", type=int, default=3650)
    p.add_argument("--keyring", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=init)

    p = csub.add_parser("issue", help="issue a server or client certificate")
    p.add_argument("--cn", required=True)
    p.add_argument("--san", action="append", default=[], help="DNS:name, IP:addr or URI:x (repeat)")
    p.add_argument("--usage", choices=("server", "client"), required=True)
    p.add_argument("--days", type=int, default=397)
    p.add_argument("--csr", help="issue for this CSR (PEM) instead of a fresh key")
    p.add_argument("--key-type", choices=("ecdsa-p256", "ecdsa-p384", "rsa", "ed25519"), default="ecdsa-p256")
    p.add_argument("--out-dir", required=True, help="writes cert.pem, key.pem (0600, fresh key only), ca.pem")
    p.add_argument("--force", action="store_true", help="overwrite cert.pem, key.pem, ca.pem already there")
    p.set_defaults(func=issue)

    p = csub.add_parser("list", help="list certificates with their status")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_)

    p = csub.add_parser("renew", help="re-issue a certificate with a new serial and validity")
    p.add_argument("serial")
    p.add_argument("--days", type=int)
    p.add_argument("--out-dir", required=True, help="writes cert.pem and ca.pem")
    p.add_argument("--force", action="store_true", help="overwrite cert.pem and ca.pem already there")
    p.set_defaults(func=renew)

    p = csub.add_parser("revoke", help="revoke a certificate")
    p.add_argument("serial")
    p.add_argument("--reason", default="unspecified")
    p.set_defaults(func=revoke)

    p = csub.add_parser("crl", help="publish a new signed CRL")
    p.add_argument("--out", required=True)
    p.add_argument("--days", type=int, default=7, help="validity (nextUpdate)")
    p.add_argument("--pem", action="store_true", help="PEM instead of DER")
    p.set_defaults(func=crl)

    p = csub.add_parser("export", help="export a certificate as a PEM bundle or PKCS#12")
    p.add_argument("serial")
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=("pem", "p12"), default="pem")
    p.add_argument("--p12-passphrase-file", help="passphrase protecting the PKCS#12 file")
    p.set_defaults(func=export)

    p = csub.add_parser("ocsp-serve", help="answer OCSP requests on loopback until interrupted")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seconds", type=float, default=None, help="stop after this long")
    p.set_defaults(func=ocsp_serve)


def _check_out_dir(ctx: Context, out_dir: str, *, with_key: bool) -> Path:
    """Before anything is issued: the folder can be written and nothing in it would be lost."""
    out = check_output_dir(Path(out_dir))
    names = ["cert.pem", "key.pem"] if with_key else ["cert.pem"]
    taken = [out / name for name in names if (out / name).exists() or (out / name).is_symlink()]
    ca_file = out / "ca.pem"
    if ca_file.is_file() and ca_file.read_bytes() != ctx.authority(unlock=False).ca_pem():
        taken.append(ca_file)  # the same CA certificate again loses nothing
    elif ca_file.exists() and not ca_file.is_file():
        taken.append(ca_file)
    if taken and not ctx.args.force:
        raise AlreadyExists(f"{', '.join(map(str, taken))} would be overwritten; choose another --out-dir or "
                            "add --force", code="output-exists")
    for path in taken:
        check_output_file(path)
    return out


def _write_issued(ctx: Context, issued, out: Path) -> None:
    r = issued.record
    try:
        make_output_dir(out)
        write_public_file(out / "cert.pem", issued.cert_pem)
        write_public_file(out / "ca.pem", ctx.authority().ca_pem())
        if issued.key_pem is not None:
            write_private_file(out / "key.pem", issued.key_pem)
    except BadInput as exc:
        raise BadInput(f"{exc}. Certificate {r.serial} was issued and is stored in the workspace: write it out "
                       f"with 'prism ca export {r.serial} --out FILE' (add --format p12 for its key)") from None
    ctx.out(f"issued {r.usage} certificate serial {r.serial} for '{r.common_name}' "
            f"valid until {r.not_after:%Y-%m-%d}")
    ctx.out(f"wrote {out / 'cert.pem'}, {out / 'ca.pem'}" + (f", {out / 'key.pem'} (0600)" if issued.key_pem else ""))


def init(ctx: Context) -> int:
    ctx.keystore(create=True)
    record = ctx.authority().init(ctx.args.cn, days=ctx.args.days)
    ctx.out(f"root CA '{record.common_name}' created, serial {record.serial}, valid until {record.not_after:%Y-%m-%d}")
    return EXIT_OK


def issue(ctx: Context) -> int:
    from core.keys.types import KeyType

    a = ctx.args
    csr = read_input_file(a.csr) if a.csr else None
    out = _check_out_dir(ctx, a.out_dir, with_key=csr is None)
    issued = ctx.authority().issue(a.cn, sans=tuple(a.san), usage=a.usage, days=a.days, csr_pem=csr,
                                   key_type=KeyType(a.key_type))
    _write_issued(ctx, issued, out)
    return EXIT_OK


def list_(ctx: Context) -> int:
    records = ctx.authority(unlock=False).list()
    if ctx.args.json:
        ctx.emit_json([
            {"serial": r.serial, "common_name": r.common_name, "sans": list(r.sans), "usage": r.usage,
             "status": r.status, "not_before": r.not_before.isoformat(), "not_after": r.not_after.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
             "revocation_reason": r.revocation_reason, "renewed_from": r.renewed_from}
            for r in records
        ])
    else:
        ctx.table(["SERIAL", "USAGE", "STATUS", "NOT AFTER", "COMMON NAME"],
                  [[r.serial, r.usage, r.status + (f" ({r.revocation_reason})" if r.revocation_reason else ""),
                    r.not_after.strftime("%Y-%m-%d"), r.common_name] for r in records])
    return EXIT_OK


def renew(ctx: Context) -> int:
    out = _check_out_dir(ctx, ctx.args.out_dir, with_key=False)
    issued = ctx.authority().renew(ctx.args.serial, days=ctx.args.days)
    _write_issued(ctx, issued, out)
    return EXIT_OK


def revoke(ctx: Context) -> int:
    from core.ca.authority import REVOCATION_REASONS

    if ctx.args.reason not in REVOCATION_REASONS:
        raise BadInput(f"unknown reason '{ctx.args.reason}'; use one of: {', '.join(REVOCATION_REASONS)}")
    record = ctx.authority().revoke(ctx.args.serial, ctx.args.reason)
    ctx.out(f"revoked {record.serial} ({record.revocation_reason}); publish a new CRL with 'prism ca crl'")
    return EXIT_OK


def crl(ctx: Context) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    out = check_output_file(Path(ctx.args.out))
    number, der = ctx.authority().publish_crl(days=ctx.args.days)
    data = x509.load_der_x509_crl(der).public_bytes(Encoding.PEM) if ctx.args.pem else der
    write_public_file(out, data)
    ctx.out(f"published CRL number {number} to {ctx.args.out}")
    return EXIT_OK


def export(ctx: Context) -> int:
    a = ctx.args
    check_output_file(Path(a.out))
    ca = ctx.authority()
    if a.format == "pem":
        write_public_file(Path(a.out), ca.export_pem_bundle(a.serial))
        ctx.out(f"wrote certificate and CA bundle to {a.out}")
        return EXIT_OK
    secret = read_secret_file(a.p12_passphrase_file) if a.p12_passphrase_file else \
        ctx.prompt_secret("PKCS#12 passphrase: ", confirm=True)
    if not secret:
        raise BadInput("a PKCS#12 file holds the private key: give --p12-passphrase-file")
    write_private_file(Path(a.out), ca.export_pkcs12(a.serial, secret.encode()))
    ctx.out(f"wrote PKCS#12 (certificate, key, CA) to {a.out}")
    return EXIT_OK


def ocsp_serve(ctx: Context) -> int:
    from core.ca.ocsp_server import OCSPResponder

    with OCSPResponder(ctx.authority(), port=ctx.args.port) as responder:
        ctx.out(f"OCSP responder listening on {responder.url} (Ctrl-C stops it)")
        deadline = None if ctx.args.seconds is None else time.monotonic() + ctx.args.seconds
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
    return EXIT_OK
