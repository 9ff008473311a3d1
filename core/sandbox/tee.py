"""A simulated AMD SEV-SNP TEE for the embedded sandbox host (ATTESTATION.md §2.1-§2.6).

``SandboxTee`` owns a sandbox ARK -> ASK -> VCEK chain, generated on first use and persisted
(keys 0600) under its state directory, and signs version-3 ATTESTATION_REPORTs in the exact
binary layout with the VCEK, as the AMD security processor would. Its evidence verifies only
for a user (or test) who explicitly trusts its root (``TrustStore.add_sandbox_root``).

Misbehaviour switches make it produce the defects a verifier must catch: ``wrong-measurement``,
``broken-binding`` (REPORT_DATA is not what was asked) and ``debug-policy`` (DEBUG allowed).
``hash-substitution`` is carried out by the agent service, not here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from core.attestation.snp.certs import load_certificates, parse_vek_extensions
from core.attestation.snp.fields import FIELD_BY_NAME, REPORT_SIZE, SIGNED_END
from core.attestation.snp.tcb import Product, TcbVersion
from core.errors import BadInput, PrismError
from core.fsio import atomic_write
from core.sandbox.chain import ChainKeys, SandboxChain, build_chain, generate_keys

log = logging.getLogger(__name__)

REPORT_DEFECTS = ("wrong-measurement", "broken-binding", "debug-policy")
MISBEHAVIOURS = (*REPORT_DEFECTS, "hash-substitution")
#: what the sandbox "launches": a fixed, documented measurement so policies can name it
SANDBOX_MEASUREMENT = hashlib.sha384(b"prism sandbox guest launch v1").digest()
DEFAULT_POLICY = 0x30000     # SMT allowed, reserved bit 17 set, no debug
DEBUG_BIT = 1 << 19
COCOS_VMPL = 2               # the agent requests its reports at VMPL 2 (§1.2)
SANDBOX_TCB = TcbVersion.from_components(bootloader=4, tee=0, snp=24, microcode=219)
_MILAN_CPUID = (0x19, 0x01, 0x01)
_PLATFORM_INFO = 0x3         # SMT_EN | TSME_EN
_FILES = {"ark": "ark.pem", "ask": "ask.pem", "vcek": "vcek.pem"}
_KEYS = {"ark": "ark.key.pem", "ask": "ask.key.pem", "vcek": "vcek.key.pem"}


class SandboxStateError(BadInput):
    """The sandbox TEE's saved chain is unreadable or inconsistent."""

    code = "sandbox-state"


class SandboxTee:
    """The simulated SEV-SNP machine. Thread-safe; the chain is created lazily."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.product = Product.MILAN
        self._lock = threading.Lock()
        self._chain: SandboxChain | None = None
        self._vcek_key: ec.EllipticCurvePrivateKey | None = None

    # --- chain ------------------------------------------------------------------------------

    def _ensure(self) -> tuple[SandboxChain, ec.EllipticCurvePrivateKey]:
        with self._lock:
            if self._chain is None or self._vcek_key is None:
                if all((self.state_dir / name).exists() for name in (*_FILES.values(), *_KEYS.values())):
                    self._chain, self._vcek_key = self._load()
                else:
                    self._chain, self._vcek_key = self._create()
            return self._chain, self._vcek_key

    def _create(self) -> tuple[SandboxChain, ec.EllipticCurvePrivateKey]:
        log.info("creating the sandbox TEE chain under %s", self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = generate_keys()
        chip_id = os.urandom(64)
        chain = build_chain(keys, product=self.product, tcb=SANDBOX_TCB, chip_id=chip_id)
        for role in _FILES:
            cert: x509.Certificate = getattr(chain, role)
            key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = getattr(keys, role)
            atomic_write(self.state_dir / _KEYS[role], key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            atomic_write(self.state_dir / _FILES[role], cert.public_bytes(serialization.Encoding.PEM))
        return chain, keys.vcek

    def _load(self) -> tuple[SandboxChain, ec.EllipticCurvePrivateKey]:
        try:
            certs = {role: load_certificates((self.state_dir / name).read_bytes(), source=name)[0]
                     for role, name in _FILES.items()}
            keys = {role: serialization.load_pem_private_key((self.state_dir / name).read_bytes(), None)
                    for role, name in _KEYS.items()}
        except (OSError, ValueError, PrismError) as exc:
            raise SandboxStateError(
                f"the sandbox TEE state in {self.state_dir} is unreadable ({exc}); delete that folder to "
                "create a new sandbox chain (previously trusted sandbox roots must then be trusted again)"
            ) from exc
        loaded = ChainKeys(ark=keys["ark"], ask=keys["ask"], vcek=keys["vcek"])  # type: ignore[arg-type]
        if certs["vcek"].public_key() != loaded.vcek.public_key():
            raise SandboxStateError(f"the sandbox VCEK in {self.state_dir} does not match its key; "
                                    "delete that folder to create a new sandbox chain")
        return SandboxChain(ark=certs["ark"], ask=certs["ask"], vcek=certs["vcek"]), loaded.vcek

    def ark_certificate(self) -> x509.Certificate:
        return self._ensure()[0].ark

    def ask_certificate(self) -> x509.Certificate:
        return self._ensure()[0].ask

    def vcek_certificate(self) -> x509.Certificate:
        return self._ensure()[0].vcek

    def chain_pem(self) -> bytes:
        """VCEK, ASK and ARK in PEM, leaf first."""
        chain = self._ensure()[0]
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (chain.vcek, chain.ask, chain.ark))

    @property
    def chip_id(self) -> bytes:
        hw_id = parse_vek_extensions(self.vcek_certificate()).hw_id
        return hw_id or bytes(64)

    # --- reports ----------------------------------------------------------------------------

    def report(self, report_data: bytes, *, vmpl: int = COCOS_VMPL, measurement: bytes = SANDBOX_MEASUREMENT,
               policy: int = DEFAULT_POLICY, misbehave: str | None = None) -> bytes:
        """A signed 1184-byte version-3 report binding ``report_data`` (exactly 64 bytes)."""
        if len(report_data) != 64:
            raise BadInput(f"REPORT_DATA must be exactly 64 bytes, got {len(report_data)}; "
                           "zero-pad the nonce on the right")
        if len(measurement) != 48:
            raise BadInput(f"a launch measurement is 48 bytes, got {len(measurement)}")
        if not 0 <= vmpl <= 3:
            raise BadInput(f"VMPL must be 0-3, got {vmpl}")
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise BadInput(f"unknown misbehaviour {misbehave!r}; choose one of {', '.join(MISBEHAVIOURS)}")
        if misbehave == "wrong-measurement":
            measurement = hashlib.sha384(b"not the launched image" + measurement).digest()
        elif misbehave == "broken-binding":
            report_data = hashlib.sha512(b"someone else's nonce" + report_data).digest()
        elif misbehave == "debug-policy":
            policy |= DEBUG_BIT
        _, key = self._ensure()
        body = self._body(report_data, vmpl=vmpl, measurement=measurement, policy=policy)
        return _sign(body, key)

    def _body(self, report_data: bytes, *, vmpl: int, measurement: bytes, policy: int) -> bytes:
        buf = bytearray(REPORT_SIZE)
        values: dict[str, int | bytes] = {
            "version": 3, "guest_svn": 0, "policy": policy, "vmpl": vmpl, "signature_algo": 1,
            "current_tcb": SANDBOX_TCB.raw, "platform_info": _PLATFORM_INFO, "signer_info": 0,
            "report_data": report_data, "measurement": measurement,
            "report_id": hashlib.sha256(b"report-id" + self.chip_id).digest(), "report_id_ma": b"\xff" * 32,
            "reported_tcb": SANDBOX_TCB.raw, "cpuid_fam_id": _MILAN_CPUID[0], "cpuid_mod_id": _MILAN_CPUID[1],
            "cpuid_step": _MILAN_CPUID[2], "chip_id": self.chip_id, "committed_tcb": SANDBOX_TCB.raw,
            "current_build": 22, "current_minor": 55, "current_major": 1, "committed_build": 22,
            "committed_minor": 55, "committed_major": 1, "launch_tcb": SANDBOX_TCB.raw,
        }
        for name, value in values.items():
            spec = FIELD_BY_NAME[name]
            buf[spec.offset:spec.end] = value if isinstance(value, bytes) else value.to_bytes(spec.size, "little")
        return bytes(buf)


def _sign(body: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA P-384/SHA-384 over report[0:0x2A0]; R and S little-endian in 72-byte fields (§2.2)."""
    r, s = decode_dss_signature(key.sign(body[:SIGNED_END], ec.ECDSA(hashes.SHA384())))
    signature = struct.pack("<72s72s", r.to_bytes(72, "little"), s.to_bytes(72, "little"))
    return body[:SIGNED_END] + signature + body[SIGNED_END + len(signature):]
