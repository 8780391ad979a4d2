"""Returns remember what the store itself already refunded, so the gateway never refunds it again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("store_refunded_amount", sa.Numeric(12, 2, asdecimal=False),
                                   nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        batch.drop_column("store_refunded_amount")
