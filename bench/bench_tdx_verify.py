"""TDX verification with warm caches vs. the raw ECDSA P-256 verifications it stands on.

Prints the time of one full ``verify_tdx`` (collateral parsed once, verification caches warm),
the summed time of the raw signature verifications a cold verification performs (quote, QE
report, PCK leaf, PCK CA, TCB signing certificate, Root CA CRL, PCK CRL, TCB Info, QE Identity),
and their ratio (goal <= 1.5x). Uses the shared real corpus when present, else synthetic evidence.

    .venv/bin/python bench/bench_tdx_verify.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

from core.attestation.tdx import crypto  # noqa: E402
from core.attestation.tdx.collateral import TdxCollateral, load_collateral_dir  # noqa: E402
from core.attestation.tdx.pck import load_pem_chain  # noqa: E402
from core.attestation.tdx.quote import parse_quote  # noqa: E402
from core.attestation.tdx.roots import TdxTrust  # noqa: E402
from core.attestation.tdx.verify import verify_tdx  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared/testdata/attestation/tdx/phala_tdx_v4_b0c06f_uptodate"


def _evidence() -> tuple[bytes, TdxCollateral, TdxTrust | None, object, str]:
    if CORPUS.is_dir():
        collateral = load_collateral_dir(CORPUS)
        at = collateral.qe_identity.qe_identity.issue_date  # type: ignore[union-attr]
        return (CORPUS / "quote.bin").read_bytes(), collateral, None, at, "real (phala v4)"
    from tests.unit.attestation.tdx.synth import EPOCH, default_pki, make_collateral, make_quote, trust_for
    pki = default_pki()
    return make_quote(pki), make_collateral(pki), trust_for(pki), EPOCH, "synthetic"


def _raw_jobs(raw: bytes, collateral: TdxCollateral) -> list[tuple[object, bytes, bytes]]:
    """(public key, DER signature, message) for each signature a verification checks."""
    quote = parse_quote(raw)
    leaf, ca, root = load_pem_chain(quote.auth_data.qe_certification.pck_chain_pem)
    tcb_signer = collateral.tcb_info_issuer_chain[0]

    def rs(sig: bytes) -> bytes:
        return encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))

    att = crypto.p256_key_from_raw(quote.auth_data.attestation_key)
    qe = quote.auth_data.qe_certification
    jobs = [
        (att, rs(quote.auth_data.signature), quote.signed_region),
        (leaf.public_key(), rs(qe.qe_report_signature), qe.qe_report.raw),
        (ca.public_key(), leaf.signature, leaf.tbs_certificate_bytes),
        (root.public_key(), ca.signature, ca.tbs_certificate_bytes),
        (root.public_key(), tcb_signer.signature, tcb_signer.tbs_certificate_bytes),
        (tcb_signer.public_key(), rs(collateral.tcb_info.signature), collateral.tcb_info.body),  # type: ignore[union-attr]
        (tcb_signer.public_key(), rs(collateral.qe_identity.signature), collateral.qe_identity.body),  # type: ignore[union-attr]
    ]
    for crl, key in ((collateral.root_crl, root.public_key()), (collateral.pck_crl, ca.public_key())):
        if crl is not None:
            jobs.append((key, crl.signature, crl.tbs_certlist_bytes))
    return jobs


def _best(fn, rounds: int = 7, number: int = 50) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def main() -> None:
    raw, collateral, trust, at, label = _evidence()
    jobs = _raw_jobs(raw, collateral)

    def raw_verifications() -> None:
        for key, sig, message in jobs:
            key.verify(sig, message, ec.ECDSA(hashes.SHA256()))  # type: ignore[attr-defined]

    def warm() -> None:
        verdict = verify_tdx(raw, collateral, at=at, trust=trust)  # type: ignore[arg-type]
        assert verdict.authentic

    def cold() -> None:
        crypto.clear_caches()
        warm()

    warm()
    t_raw = _best(raw_verifications)
    t_warm = _best(warm)
    t_cold = _best(cold)
    print(f"evidence: {label}; {len(jobs)} ECDSA P-256 verifications in a cold verification")
    print(f"raw ECDSA sum:            {t_raw * 1e3:8.3f} ms")
    print(f"verify_tdx (warm caches): {t_warm * 1e3:8.3f} ms   ratio {t_warm / t_raw:5.2f}x (goal <= 1.5x)")
    print(f"verify_tdx (cold caches): {t_cold * 1e3:8.3f} ms   ratio {t_cold / t_raw:5.2f}x")


if __name__ == "__main__":
    main()
