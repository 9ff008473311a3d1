"""Interoperability: the OpenSSL command line accepts our OCSP answers and CRLs (skipped without it)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.ca.ocsp_server import OCSPResponder
from tests.unit.ca.helpers import Clock

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@pytest.fixture
def clock() -> Clock:
    """The real time: openssl checks validity against the system clock."""
    return Clock(datetime.now(timezone.utc))


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def files(ca, tmp_path):
    good, bad = ca.issue("good.local"), ca.issue("bad.local")
    ca.revoke(bad.record.serial, "key-compromise")
    paths = {"ca": tmp_path / "ca.pem", "good": tmp_path / "good.pem", "bad": tmp_path / "bad.pem",
             "crl": tmp_path / "crl.pem"}
    paths["ca"].write_bytes(ca.ca_pem())
    paths["good"].write_bytes(good.cert_pem)
    paths["bad"].write_bytes(bad.cert_pem)
    paths["crl"].write_bytes(x509.load_der_x509_crl(ca.publish_crl()[1]).public_bytes(Encoding.PEM))
    return {name: str(path) for name, path in paths.items()}


def test_openssl_ocsp_client_verifies_our_answers(ca, files):
    with OCSPResponder(ca) as responder:
        for name, status in (("good", ": good"), ("bad", ": revoked")):
            result = _openssl("ocsp", "-issuer", files["ca"], "-cert", files[name], "-url", responder.url,
                              "-CAfile", files["ca"])
            assert result.returncode == 0, result.stderr
            assert "Response verify OK" in result.stderr
            assert status in result.stdout
    assert "Reason: keyCompromise" in result.stdout


def test_openssl_verify_honours_our_crl(files):
    args = ("verify", "-crl_check", "-CAfile", files["ca"], "-CRLfile", files["crl"])
    assert _openssl(*args, files["good"]).returncode == 0
    rejected = _openssl(*args, files["bad"])
    assert rejected.returncode != 0 and "certificate revoked" in rejected.stdout + rejected.stderr
