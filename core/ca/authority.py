"""The workspace's local certificate authority: issue, renew, revoke, CRLs and OCSP answers.

Certificates and CRLs live in the workspace store; private keys only in the keystore (the
root as "ca-root", generated TLS keys as "tls-<serial>"). Every mutation reports to the audit
hook after it is committed.
"""

from __future__ import annotations

import builtins
import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from core.ca import rows
from core.ca.builder import (
    LEAF_USAGES,
    LeafProfile,
    build_leaf,
    build_root,
    check_days,
    new_serial,
    serial_hex,
    subject_name,
    utc,
    validity,
)
from core.ca.crl import RevokedEntry, build_crl
from core.ca.csr import load_csr
from core.ca.errors import InvalidCAInput
from core.ca.export import pem_bundle, pkcs8_pem, pkcs12_bundle
from core.ca.ocsp import KnownStatus, build_ocsp_response
from core.ca.reasons import REVOCATION_REASONS, normalise_reason
from core.ca.records import CertRecord, Issued, lifetime_days, record_from_row
from core.ca.sans import leaf_sans, parse_sans, san_strings
from core.errors import AlreadyExists, CAError, CANotInitialised, KeystoreLocked, NotFound, Refused
from core.keys.formats import generate_private_key
from core.keys.types import KeyType, PrivateKey, PublicKey
from core.workspace.schema import CACertificate, CACrl

__all__ = ["CA_KEY_NAME", "REVOCATION_REASONS", "CertRecord", "CertificateAuthority", "Issued"]

CA_KEY_NAME = "ca-root"
AuditHook = Callable[[str, str, dict[str, Any]], Any]
_T = TypeVar("_T")
_P = ParamSpec("_P")


class _Store(Protocol):
    def session(self, *, write: bool = False) -> Any: ...


class _Keystore(Protocol):
    def add_private_key(self, name: str, key: PrivateKey, *, purpose: str = ..., label: str = ...) -> Any: ...
    def private_key(self, name: str) -> PrivateKey: ...
    def get(self, name: str) -> Any: ...
    def delete(self, name: str, *, allow_ca: bool = False) -> Any: ...


def _locked(method: Callable[Concatenate[CertificateAuthority, _P], _T],
            ) -> Callable[Concatenate[CertificateAuthority, _P], _T]:
    """Serialise public operations: the OCSP responder calls in from its own thread."""

    @functools.wraps(method)
    def wrapper(self: CertificateAuthority, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class CertificateAuthority:
    """One workspace's CA. ``ocsp_url`` and ``crl_url``, when set, go into the leaves it issues."""

    def __init__(self, store: _Store, keystore: _Keystore | None, *, audit: AuditHook | None = None,
                 workspace_name: str = "default", clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._keystore = keystore
        self._audit_hook = audit
        self._workspace_name = workspace_name
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.RLock()
        self.ocsp_url: str | None = None
        self.crl_url: str | None = None

    # --- the root ---------------------------------------------------------------------

    @property
    def is_initialised(self) -> bool:
        with self._session() as session:
            return rows.find_ca(session) is not None

    @_locked
    def init(self, common_name: str | None = None, *, days: int = 3650) -> CertRecord:
        """Create the ECDSA P-384 root; AlreadyExists when the workspace has one."""
        if self.is_initialised:
            raise AlreadyExists("this workspace already has a certificate authority; "
                                "`prism ca list` shows it", code="ca-already-initialised")
        if self._has_key(CA_KEY_NAME):
            raise AlreadyExists(f"the keystore already holds a key named {CA_KEY_NAME!r} but the workspace "
                                "store has no CA certificate; restore the store from a backup or delete "
                                "that key before initialising again", code="ca-key-exists")
        name = common_name if common_name is not None else self._default_ca_name()
        not_before, not_after = validity(self._now(), check_days(days))
        key = ec.generate_private_key(ec.SECP384R1())
        cert = build_root(key, name, serial=new_serial(), not_before=not_before, not_after=not_after)
        row = rows.new_row(cert, usage="ca", sans=(), key_name=CA_KEY_NAME)
        record = self._store_with_key(row, CA_KEY_NAME, key, purpose="ca", label=row.common_name)
        self._audit("ca.init", record.serial, {"common_name": record.common_name,
                                              "not_after": record.not_after.isoformat()})
        return record

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self._ca_row_pem().encode("ascii"))

    def ca_pem(self) -> bytes:
        return self._ca_row_pem().encode("ascii")

    # --- issuing ----------------------------------------------------------------------

    @_locked
    def issue(self, common_name: str, *, sans: Iterable[str] = (), usage: str = "server", days: int = 397,
              csr_pem: bytes | None = None, key_type: KeyType | str = KeyType.ECDSA_P256) -> Issued:
        """A server or client certificate for a fresh key (kept in the keystore) or a CSR's key."""
        ca_cert, ca_key = self._signer()
        if usage not in LEAF_USAGES:
            raise InvalidCAInput(f"unknown certificate usage {usage!r}; use 'server' or 'client'")
        check_days(days)
        requested = list([sans] if isinstance(sans, str) else sans)
        request = load_csr(csr_pem) if csr_pem is not None else None
        if request is not None:
            common_name = common_name if common_name and common_name.strip() else request.common_name
            requested = list(request.sans) + requested
        subject_name(common_name)  # check names before spending time on a key
        names = leaf_sans(common_name, requested, usage)
        # A CSR brings its own key; otherwise the CA generates one and keeps it in the keystore.
        private_key: PrivateKey | None = None
        if request is None:
            private_key = generate_private_key(key_type)  # type: ignore[arg-type]  # it checks the name
            public_key: PublicKey = private_key.public_key()
        else:
            public_key = request.public_key
        cert = self._sign_leaf(ca_cert, ca_key, public_key, common_name, names, usage, days)
        serial = serial_hex(cert.serial_number)
        key_name = f"tls-{serial}" if private_key is not None else None
        row = rows.new_row(cert, usage=usage, sans=san_strings(names), key_name=key_name)
        if private_key is not None and key_name is not None:
            record = self._store_with_key(row, key_name, private_key, purpose="tls", label=row.common_name)
        else:
            record = self._insert(row)
        self._audit("ca.issue", serial, {"common_name": record.common_name, "usage": usage,
                                         "sans": list(record.sans), "from_csr": csr_pem is not None})
        key_pem = pkcs8_pem(private_key) if private_key is not None else None
        return Issued(record=record, cert_pem=record.pem.encode("ascii"), key_pem=key_pem)

    @_locked
    def renew(self, serial: str, *, days: int | None = None) -> Issued:
        """A new certificate with the same subject, SANs, usage and public key; the old one stays as it is."""
        ca_cert, ca_key = self._signer()
        old = self._row(serial)
        if old.usage == "ca":
            raise Refused("the CA certificate is not renewed this way; it signs everything else",
                          code="ca-self-renewal")
        if old.revoked_at is not None:
            raise Refused(f"certificate {old.serial} is revoked ({old.revocation_reason}); issue a new "
                          "certificate with a new key instead of renewing it", code="revoked")
        lifetime = days if days is not None else lifetime_days(old.not_before, old.not_after)
        old_cert = x509.load_pem_x509_certificate(old.pem.encode("ascii"))
        names = parse_sans(json.loads(old.sans or "[]"))
        cert = self._sign_leaf(ca_cert, ca_key, old_cert.public_key(),  # type: ignore[arg-type]
                               old.common_name, names, old.usage, check_days(lifetime))
        key_name = old.key_name if old.key_name and self._has_key(old.key_name) else None
        row = rows.new_row(cert, usage=old.usage, sans=san_strings(names), key_name=key_name,
                           renewed_from=old.serial)
        record = self._insert(row)
        self._audit("ca.renew", record.serial, {"renewed_from": old.serial, "common_name": record.common_name,
                                                "not_after": record.not_after.isoformat()})
        return Issued(record=record, cert_pem=record.pem.encode("ascii"), key_pem=None)

    # --- revocation -------------------------------------------------------------------

    @_locked
    def revoke(self, serial: str, reason: str = "unspecified") -> CertRecord:
        """Mark a certificate revoked; Refused for the CA itself or a certificate already revoked."""
        name = normalise_reason(reason)
        now = self._now()
        with self._session(write=True) as session:
            row = self._row_in(session, serial)
            if row.usage == "ca":
                raise Refused("the CA cannot revoke its own certificate; delete the workspace's CA "
                              "and initialise a new one instead", code="ca-self-revocation")
            if row.revoked_at is not None:
                raise Refused(f"certificate {row.serial} was already revoked on "
                              f"{utc(row.revoked_at).isoformat()} ({row.revocation_reason})",
                              code="already-revoked")
            row.revoked_at, row.revocation_reason = utc(now), name
            session.flush()
            record = record_from_row(row, now)
        self._audit("ca.revoke", record.serial, {"reason": name, "common_name": record.common_name})
        return record

    @_locked
    def publish_crl(self, *, days: int = 7) -> tuple[int, bytes]:
        """Sign and store the next CRL; returns its number (1, 2, 3 ...) and DER bytes."""
        ca_cert, ca_key = self._signer()
        this_update = utc(self._now())
        next_update = this_update + timedelta(days=check_days(days))
        with self._session(write=True) as session:  # the write lock keeps CRL numbers unique
            entries = [RevokedEntry(int(row.serial, 16), row.revoked_at, row.revocation_reason)
                       for row in rows.revoked_rows(session) if row.revoked_at is not None]
            number = rows.next_crl_number(session)
            der = build_crl(ca_cert, ca_key, entries, number=number, this_update=this_update,
                            next_update=next_update)
            session.add(CACrl(number=number, issued_at=this_update, next_update=next_update, der=der))
        self._audit("ca.crl", str(number), {"revoked": len(entries), "next_update": next_update.isoformat()})
        return number, der

    def latest_crl(self) -> bytes | None:
        self._require_ca()
        with self._session() as session:
            crl = rows.latest_crl(session)
            return bytes(crl.der) if crl is not None else None

    @_locked
    def ocsp_response(self, request_der: bytes) -> bytes:
        """A signed OCSP response; malformed requests get a MALFORMED_REQUEST response, not an exception."""
        ca_cert, ca_key = self._signer()
        return build_ocsp_response(request_der, issuer=ca_cert, issuer_key=ca_key, lookup=self._ocsp_lookup,
                                   now=self._now())

    # --- reading and exporting ----------------------------------------------------------

    def list(self, *, at: datetime | None = None) -> builtins.list[CertRecord]:
        """Every certificate, the CA first, then by issue time; statuses computed at ``at`` (default now)."""
        self._require_ca()
        moment = at if at is not None else self._now()
        with self._session() as session:
            records = [record_from_row(row, moment) for row in rows.all_rows(session)]
        return sorted(records, key=lambda r: (r.usage != "ca", r.not_before, r.serial))

    def get(self, serial: str, *, at: datetime | None = None) -> CertRecord:
        self._require_ca()
        return record_from_row(self._row(serial), at if at is not None else self._now())

    @_locked
    def export_pem_bundle(self, serial: str) -> bytes:
        row = self._row(serial)
        bundle = pem_bundle(x509.load_pem_x509_certificate(row.pem.encode("ascii")), self.certificate())
        self._audit("ca.export", row.serial, {"format": "pem", "common_name": row.common_name})
        return bundle

    @_locked
    def export_pkcs12(self, serial: str, passphrase: bytes) -> bytes:
        """Certificate, its key and the CA in one PKCS#12; Refused when the keystore lacks the key."""
        row = self._row(serial)
        if row.usage == "ca":
            raise Refused("the CA's own key is not exported; back up the whole keystore instead",
                          code="ca-key-export")
        if not row.key_name or not self._has_key(row.key_name):
            raise Refused(f"the private key of certificate {row.serial} is not in the keystore (it was "
                          "issued from a CSR or the key was deleted); export the PEM bundle and pair it "
                          "with the key you hold", code="key-not-in-keystore")
        cert = x509.load_pem_x509_certificate(row.pem.encode("ascii"))
        blob = pkcs12_bundle(row.common_name, self._keys().private_key(row.key_name), cert,
                             self.certificate(), passphrase)
        self._audit("ca.export", row.serial, {"format": "pkcs12", "common_name": row.common_name})
        return blob

    # --- internals ----------------------------------------------------------------------

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        """The store's unit of work: commits when the block ends, rolls back when it raises."""
        with self._store.session(write=write) as session:
            yield session

    def _now(self) -> datetime:
        return utc(self._clock())

    def _default_ca_name(self) -> str:
        prefix = "Prism local CA"
        room = 64 - len(prefix) - 3  # " (" + ")"
        workspace = self._workspace_name.strip()[:room]
        return f"{prefix} ({workspace})" if workspace else prefix

    def _require_ca(self) -> CACertificate:
        with self._session() as session:
            row = _ca_in(session)
            session.expunge(row)
            return row

    def _ca_row_pem(self) -> str:
        return self._require_ca().pem

    def _signer(self) -> tuple[x509.Certificate, PrivateKey]:
        """The CA certificate and key, refusing when the root is missing, expired or keyless."""
        row = self._require_ca()
        if self._now() > utc(row.not_after):
            raise Refused(f"the CA certificate expired on {utc(row.not_after).date()}; nothing it signs "
                          "would be trusted, so initialise a new CA in a new workspace", code="ca-expired")
        if not self._has_key(CA_KEY_NAME):
            raise CAError(f"the CA key {CA_KEY_NAME!r} is missing from the keystore; restore the keystore "
                          "from a backup", code="ca-key-missing")
        return x509.load_pem_x509_certificate(row.pem.encode("ascii")), self._keys().private_key(CA_KEY_NAME)

    def _row(self, serial: str) -> CACertificate:
        with self._session() as session:
            row = self._row_in(session, serial)
            session.expunge(row)
            return row

    def _row_in(self, session: Session, serial: str) -> CACertificate:
        _ca_in(session)
        row = rows.find(session, rows.normalise_serial(serial))
        if row is None:
            raise NotFound(f"no certificate with serial {serial!r} in this workspace; "
                           "`prism ca list` shows the serials", code="certificate-not-found")
        return row

    def _keys(self) -> _Keystore:
        if self._keystore is None:
            raise KeystoreLocked("the keystore is not open; unlock it (give the passphrase) to use "
                                 "the CA's keys")
        return self._keystore

    def _has_key(self, name: str) -> bool:
        try:
            self._keys().get(name)
        except NotFound:
            return False
        return True

    def _sign_leaf(self, ca_cert: x509.Certificate, ca_key: PrivateKey, public_key: PublicKey,
                   common_name: str, names: Sequence[x509.GeneralName], usage: str, days: int) -> x509.Certificate:
        not_before, not_after = validity(self._now(), days)
        # A leaf outliving its CA would only fail later, at the worst moment; cut it to the CA's end.
        not_after = min(not_after, ca_cert.not_valid_after_utc)
        profile = LeafProfile(common_name=common_name, sans=tuple(names), usage=usage, serial=new_serial(),
                              not_before=not_before, not_after=not_after, ocsp_url=self.ocsp_url,
                              crl_url=self.crl_url)
        return build_leaf(ca_cert, ca_key, public_key, profile)

    def _insert(self, row: CACertificate) -> CertRecord:
        with self._session(write=True) as session:
            session.add(row)
            session.flush()
            record = record_from_row(row, self._now())
        return record

    def _store_with_key(self, row: CACertificate, key_name: str, key: PrivateKey, *, purpose: str,
                        label: str) -> CertRecord:
        """Keystore first, then the store; undo the key if the row cannot be written."""
        self._keys().add_private_key(key_name, key, purpose=purpose, label=label)
        try:
            return self._insert(row)
        except BaseException:
            self._keys().delete(key_name, allow_ca=True)
            raise

    def _ocsp_lookup(self, serial: int) -> KnownStatus | None:
        with self._session() as session:
            row = rows.find(session, serial_hex(serial)) if serial >= 0 else None
            if row is None:
                return None
            revoked_at = utc(row.revoked_at) if row.revoked_at is not None else None
            return KnownStatus(revoked_at=revoked_at, reason=row.revocation_reason)

    def _audit(self, action: str, subject: str, details: dict[str, Any]) -> None:
        if self._audit_hook is not None:
            self._audit_hook(action, subject, details)


def _ca_in(session: Session) -> CACertificate:
    row = rows.find_ca(session)
    if row is None:
        raise CANotInitialised("this workspace has no certificate authority yet; create one with `prism ca init`")
    return row
