"""Certificates and CRLs of the workspace's local certificate authority.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ca_certificates",
        sa.Column("serial", sa.String(64), primary_key=True),
        sa.Column("common_name", sa.String(300), nullable=False),
        sa.Column("sans", sa.Text(), nullable=False),
        sa.Column("usage", sa.String(20), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("renewed_from", sa.String(64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(40), nullable=True),
    )
    op.create_table(
        "ca_crls",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ca_crls")
    op.drop_table("ca_certificates")
