"""Build an exported authenticator the way the Cocos agent does (the server side of §12.3-§12.5).

Used by our sandbox aTLS server and by tests that must run without captured evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.atls.binding import compute_binder
from core.atls.cmw import encode_cmw_payload, wrap_extension
from core.atls.errors import AtlsProtocolError
from core.atls.frames import (
    EXT_CMW_ATTESTATION, Certificate, CertificateEntry, CertificateVerify, Extension, Finished,
    parse_request,
)
from core.atls.signing import certificate_verify_input, pick_scheme, sign
from core.atls.spki import raw_spki
from core.atls.suites import SessionExporters


def build_authenticator(request: bytes, chain_der: Sequence[bytes], private_key: Any,
                        exporters: SessionExporters, evidence: bytes, *,
                        cmw_payload: bytes | None = None) -> bytes:
    """Certificate || CertificateVerify || Finished answering ``request``.

    ``evidence`` is the EAT for the leaf's cmw_attestation payload, whose binder is computed from
    the leaf SPKI and ``exporters.attestation``. ``cmw_payload`` replaces the whole payload (for
    servers that must send something else, e.g. tests of a wrong binder).
    """
    req = parse_request(request)
    if not req.offers_cmw_attestation:
        raise AtlsProtocolError("atls: cmw_attestation extension not offered")
    if not chain_der:
        raise AtlsProtocolError("an authenticator needs at least the leaf certificate")
    h = exporters.hash
    if cmw_payload is None:
        binder = compute_binder(raw_spki(chain_der[0]), exporters.attestation, h)
        cmw_payload = encode_cmw_payload(evidence, binder.aik_pub_hash, binder.binding)
    leaf = CertificateEntry(chain_der[0], (Extension(EXT_CMW_ATTESTATION, wrap_extension(cmw_payload)),))
    entries = (leaf, *(CertificateEntry(der) for der in chain_der[1:]))
    cert_raw = Certificate(req.context, entries).encode()
    prefix = exporters.handshake_context + bytes(request) + cert_raw
    scheme = pick_scheme(private_key, req.signature_schemes)
    signature = sign(private_key, scheme, certificate_verify_input(h.digest(prefix)))
    cv_raw = CertificateVerify(scheme, signature).encode()
    finished = Finished(h.hmac(exporters.finished_key, h.digest(prefix + cv_raw))).encode()
    return cert_raw + cv_raw + finished
