"""An order's raw payload moves out of `orders` into `order_payloads`.

Every stage moves an order by updating its row (verified, reserved, waved, label booked…), and
PostgreSQL writes a whole new version of the row each time. With the payload inside (1.5 kB of
the row's 1.7 kB on average, kept inline because it stays under the TOAST threshold), a 100k-order
peak day rewrote 630 MB of heap, and as much WAL, for status changes; the payload is written
when an order is pulled and read only to compare a re-read order with what was stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_payloads",
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_payloads")),
    )
    op.execute("INSERT INTO order_payloads (order_id, raw) SELECT order_id, raw FROM orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("raw")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("raw", sa.Text(), nullable=False, server_default="{}"))
    op.execute("UPDATE orders SET raw = (SELECT p.raw FROM order_payloads p WHERE p.order_id = orders.order_id) "
               "WHERE EXISTS (SELECT 1 FROM order_payloads p WHERE p.order_id = orders.order_id)")
    op.drop_table("order_payloads")
