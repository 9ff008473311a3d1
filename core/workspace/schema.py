"""SQLAlchemy 2.x tables of a workspace store.

The schema evolves only through migrations (core/workspace/migrations); each table here
names the revision that introduced it so later issues know where to add theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AuditEvent(Base):
    """One link of the hash-chained audit log (revision 0001)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, 3 ... no gaps
    time: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC with microseconds
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON object
    prev_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256; 64 zeros for seq 1
    hash: Mapped[str] = mapped_column(String(64))


class CACertificate(Base):
    """A certificate issued by the workspace's local CA, or the CA itself (revision 0002)."""

    __tablename__ = "ca_certificates"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)  # lowercase hex
    common_name: Mapped[str] = mapped_column(String(300))
    sans: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of "DNS:x" / "IP:y"
    usage: Mapped[str] = mapped_column(String(20))  # "ca" | "server" | "client"
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pem: Mapped[str] = mapped_column(Text)
    key_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # keystore entry
    renewed_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class CACrl(Base):
    """Every CRL the CA published, by its CRL number (revision 0002)."""

    __tablename__ = "ca_crls"

    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    der: Mapped[bytes] = mapped_column(LargeBinary)
