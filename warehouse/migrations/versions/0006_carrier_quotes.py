"""Carrier quotes kept between runs: a ShipEngine lane's rates, quoted by one cycle, serve the
cycles of the next minutes (connectors.carriers.shipengine_quotes). A 500-order cycle quoted
about 300 lanes afresh each time, more than ShipEngine's 200 requests a minute.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_quotes",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("quote_key", sa.String(64), nullable=False),
        sa.Column("quoted_at", sa.DateTime(), nullable=False),
        sa.Column("rates", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "quote_key", name=op.f("pk_carrier_quotes")),
    )


def downgrade() -> None:
    op.drop_table("carrier_quotes")
