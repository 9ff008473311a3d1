"""prism agent ... — a Cocos agent for automation: upload-algo, upload-data, result, attestation.

Configured like the Cocos CLI: ``AGENT_GRPC_URL``, ``_TIMEOUT``, ``_SERVER_CA_CERTS``,
``_CLIENT_CERT``, ``_CLIENT_KEY``, ``_ATTESTED_TLS`` and ``_ATTESTATION_POLICY`` (§10.2); flags
override them. With aTLS the attestation is verified against the policy before any upload
byte is sent; a refusal prints the failed checks and exits 1. ``--key NAME`` picks the
keystore key that signs the participant role.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from app.cli.context import EXIT_OK, Context, read_input_file, write_public_file
from app.cli.manager_cmds import connection_options, run_async, settings_from
from core.errors import BadInput

PREFIX = "AGENT_GRPC"
ATTESTATION_TYPES = {"snp": 0, "vtpm": 1, "snp-vtpm": 2, "azure": 3, "tdx": 4}


def _options(parser: argparse.ArgumentParser, *, signed: bool) -> None:
    connection_options(parser, PREFIX)
    group = parser.add_argument_group("attested TLS")
    group.add_argument("--atls", action="store_true", help=f"use attested TLS (${PREFIX}_ATTESTED_TLS=true)")
    group.add_argument("--policy", help=f"attestation policy: our JSON, a legacy JSON or a CoRIM "
                                        f"(${PREFIX}_ATTESTATION_POLICY)")
    group.add_argument("--trust-sandbox-root", metavar="PEM",
                       help="also trust this sandbox root (evidence from a simulated TEE, never real hardware)")
    if signed:
        parser.add_argument("--key", required=True, metavar="NAME",
                            help="keystore key that signs the participant role (as declared in the manifest)")


def register(sub: argparse._SubParsersAction) -> None:
    agent = sub.add_parser("agent", help="a Cocos agent: upload the algorithm and data, fetch the result")
    asub = agent.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = asub.add_parser("upload-algo", help="upload the algorithm (role algorithm-provider)")
    _options(p, signed=True)
    p.add_argument("file")
    p.add_argument("--algo-type", default="bin", choices=("bin", "python", "wasm", "docker"))
    p.add_argument("--arg", dest="algo_args", action="append", default=[], help="an algorithm argument (repeat)")
    p.add_argument("--requirements", help="requirements.txt for a python algorithm")
    p.set_defaults(func=upload_algo)

    p = asub.add_parser("upload-data", help="upload a dataset (role data-provider)")
    _options(p, signed=True)
    p.add_argument("file")
    p.add_argument("--filename", help="the dataset's file name in the manifest (default: the file's name)")
    p.add_argument("--decompress", action="store_true", help="the file is a zip the agent unpacks")
    p.set_defaults(func=upload_data)

    p = asub.add_parser("result", help="download the result zip (role consumer), polling until it is ready")
    _options(p, signed=True)
    p.add_argument("--out", default="result.zip")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to keep polling (default 60)")
    p.set_defaults(func=result)

    p = asub.add_parser("attestation", help="fetch the agent's attestation token (EAT)")
    _options(p, signed=False)
    p.add_argument("--out", required=True, help="write the EAT token here")
    p.add_argument("--type", dest="kind", choices=tuple(ATTESTATION_TYPES), default="snp")
    p.add_argument("--tee-nonce", default="", help="hex, up to 64 bytes")
    p.add_argument("--vtpm-nonce", default="", help="hex, up to 32 bytes")
    p.set_defaults(func=attestation)


def _attested(args: argparse.Namespace) -> bool:
    return bool(args.atls) or os.environ.get(f"{PREFIX}_ATTESTED_TLS", "").strip().lower() == "true"


def _atls_transport(args: argparse.Namespace, settings: Any) -> Any:
    """AtlsTransport with the gate; the configured CA/cert files serve the optional chain check and maTLS."""
    from cryptography import x509

    from core.atls.bridge import AtlsTransport
    from core.atls.gate import AttestationGate
    from core.atls.tls import ClientIdentity
    from core.attestation.assess import load_policy
    from core.attestation.roots import TrustStore

    policy_path = args.policy or os.environ.get(f"{PREFIX}_ATTESTATION_POLICY", "")
    if not policy_path:
        raise BadInput("attested TLS needs an attestation policy: give --policy FILE or set "
                       f"{PREFIX}_ATTESTATION_POLICY")
    policy = load_policy(read_input_file(policy_path))
    trust = TrustStore()
    if args.trust_sandbox_root:
        try:
            trust.add_sandbox_root(x509.load_pem_x509_certificate(read_input_file(args.trust_sandbox_root)))
        except ValueError:
            raise BadInput(f"{args.trust_sandbox_root} is not a PEM certificate; give the sandbox's ark.pem") from None
    tls = getattr(settings.transport, "ca_pem", None)
    cert = getattr(settings.transport, "cert_pem", None)
    identity = ClientIdentity(cert, settings.transport.key_pem) if cert else None
    return AtlsTransport(AttestationGate(policy, trust=trust), ca_pem=tls, client_cert=identity,
                         timeout=min(settings.timeout, 30.0))


def _with_agent(ctx: Context, work: Any, *, signed: bool) -> Any:
    """Connect (verifying aTLS first when asked), run ``work(client)``, close everything."""
    from core.cocos.agent_client import AgentClient

    args = ctx.args
    settings = settings_from(args, PREFIX)
    signer = None
    if signed:
        keystore = ctx.keystore()
        keystore.get(args.key)  # a missing key is reported before any connection

        def signer(role: str) -> str:
            return keystore.sign_role(args.key, role)

    async def session() -> Any:
        transport = settings.transport
        atls = None
        if _attested(args):
            atls = transport = _atls_transport(args, settings)
            verdict = await atls.connect(settings.target)
            ctx.out(f"attestation: {verdict.platform} acceptable ({len(verdict.checks)} checks)")
        try:
            async with AgentClient(target=settings.target, transport=transport, signer=signer,
                                   timeout=settings.timeout) as client:
                return await work(client)
        finally:
            if atls is not None:
                await atls.close()

    return run_async(session)


def upload_algo(ctx: Context) -> int:
    a = ctx.args
    _with_agent(ctx, lambda client: client.upload_algorithm(
        a.file, algo_type=a.algo_type, algo_args=a.algo_args, requirements=a.requirements), signed=True)
    ctx.out(f"uploaded the algorithm {Path(a.file).name} ({a.algo_type})")
    return EXIT_OK


def upload_data(ctx: Context) -> int:
    a = ctx.args
    filename = a.filename or Path(a.file).name
    _with_agent(ctx, lambda client: client.upload_dataset(a.file, filename=filename, decompress=a.decompress),
                signed=True)
    ctx.out(f"uploaded the dataset {filename}")
    return EXIT_OK


def result(ctx: Context) -> int:
    a = ctx.args
    path = _with_agent(ctx, lambda client: client.download_result(a.out, poll_interval=2.0, max_wait=a.wait),
                       signed=True)
    ctx.out(f"wrote the result ({Path(path).stat().st_size} bytes) to {path}")
    return EXIT_OK


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise BadInput(f"the {what} {value!r} is not hex; write it like 00ff...") from None


def attestation(ctx: Context) -> int:
    a = ctx.args
    tee, vtpm = _hex(a.tee_nonce, "TEE nonce"), _hex(a.vtpm_nonce, "vTPM nonce")
    token = _with_agent(ctx, lambda client: client.attestation(tee, vtpm, ATTESTATION_TYPES[a.kind]), signed=False)
    write_public_file(Path(a.out), token)
    ctx.out(f"wrote the attestation token ({len(token)} bytes) to {a.out}")
    return EXIT_OK
