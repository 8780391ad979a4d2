"""Initial schema: every table of warehouse/schema.py.

Generated with autogenerate against an empty SQLite database, then reviewed for PostgreSQL:
tables in the order schema.py defines them, indexes created directly (no batch mode
needed for CREATE INDEX), constraint names from the metadata naming convention, and
fulfillment_events.event_id BIGINT identity on PostgreSQL but INTEGER (the rowid alias) on
SQLite.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 05:13:34
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'channels',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('shop_domain', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('channel', name=op.f('pk_channels')),
    )
    op.create_table(
        'sync_cursors',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('stream', sa.String(length=32), nullable=False),
        sa.Column('cursor_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'stream', name=op.f('pk_sync_cursors')),
    )
    op.create_table(
        'warehouses',
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('warehouse_id', name=op.f('pk_warehouses')),
    )
    op.create_table(
        'locations',
        sa.Column('location_id', sa.String(length=64), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('aisle', sa.Integer(), nullable=False),
        sa.Column('bay', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('x', sa.Float(), nullable=False),
        sa.Column('y', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('location_id', name=op.f('pk_locations')),
    )
    op.create_table(
        'orders',
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=64), nullable=False),
        sa.Column('order_number', sa.String(length=64), nullable=False),
        sa.Column('placed_at', sa.DateTime(), nullable=False),
        sa.Column('source_updated_at', sa.DateTime(), nullable=False),
        sa.Column('customer_name', sa.String(length=255), nullable=False),
        sa.Column('customer_email', sa.String(length=255), nullable=False),
        sa.Column('ship_to_line1', sa.String(length=255), nullable=False),
        sa.Column('ship_to_city', sa.String(length=128), nullable=False),
        sa.Column('ship_to_region', sa.String(length=64), nullable=False),
        sa.Column('ship_to_postal_code', sa.String(length=32), nullable=False),
        sa.Column('ship_to_country', sa.String(length=2), nullable=False),
        sa.Column('shipping_method', sa.String(length=32), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('total_amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('payment_ref', sa.String(length=128), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('hold_reason', sa.Text(), nullable=True),
        sa.Column('status_at', sa.DateTime(), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=True),
        sa.Column('promised_by', sa.DateTime(), nullable=False),
        sa.Column('ingested_at', sa.DateTime(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders')),
        sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_orders_channel_external_id')),
    )
    op.create_index(op.f('ix_orders_status'), 'orders', ['status'])
    op.create_table(
        'order_lines',
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('external_line_id', sa.String(length=64), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('unit_price', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('weight_kg', sa.Float(), nullable=False),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_positive_quantity')),
        sa.PrimaryKeyConstraint('order_id', 'line_no', name=op.f('pk_order_lines')),
    )
    op.create_table(
        'payments',
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('gateway', sa.String(length=32), nullable=False),
        sa.Column('payment_ref', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('checked_at', sa.DateTime(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_payments')),
    )
    op.create_table(
        'stock',
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('location_id', sa.String(length=64), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('on_hand', sa.Integer(), nullable=False),
        sa.Column('reserved', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint('reserved >= 0 AND reserved <= on_hand', name=op.f('ck_stock_never_oversold')),
        sa.PrimaryKeyConstraint('sku', 'location_id', name=op.f('pk_stock')),
    )
    op.create_index(op.f('ix_stock_warehouse_id_sku'), 'stock', ['warehouse_id', 'sku'])
    op.create_table(
        'reservations',
        sa.Column('reservation_id', sa.String(length=255), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('location_id', sa.String(length=64), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('reservation_id', name=op.f('pk_reservations')),
    )
    op.create_index(op.f('ix_reservations_order_id'), 'reservations', ['order_id'])
    op.create_index(op.f('ix_reservations_status_expires_at'), 'reservations', ['status', 'expires_at'])
    op.create_table(
        'backorders',
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('quantity_short', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('order_id', 'line_no', name=op.f('pk_backorders')),
    )
    op.create_table(
        'waves',
        sa.Column('wave_id', sa.String(length=128), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('cutoff_at', sa.DateTime(), nullable=False),
        sa.Column('order_count', sa.Integer(), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('travel_distance', sa.Float(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('wave_id', name=op.f('pk_waves')),
    )
    op.create_table(
        'pick_lines',
        sa.Column('wave_id', sa.String(length=128), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('location_id', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('wave_id', 'seq', name=op.f('pk_pick_lines')),
    )
    op.create_table(
        'shipments',
        sa.Column('shipment_id', sa.String(length=160), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('direction', sa.String(length=8), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('carrier', sa.String(length=32), nullable=True),
        sa.Column('service', sa.String(length=64), nullable=True),
        sa.Column('rate_amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('idempotency_key', sa.String(length=160), nullable=False),
        sa.Column('label_status', sa.String(length=16), nullable=False),
        sa.Column('label_ref', sa.String(length=128), nullable=True),
        sa.Column('tracking_number', sa.String(length=64), nullable=True),
        sa.Column('tracking_status', sa.String(length=32), nullable=True),
        sa.Column('tracking_status_at', sa.DateTime(), nullable=True),
        sa.Column('promised_by', sa.DateTime(), nullable=True),
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('pushed_to_storefront_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('shipment_id', name=op.f('pk_shipments')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_shipments_idempotency_key')),
    )
    op.create_index(op.f('ix_shipments_label_status'), 'shipments', ['label_status'])
    op.create_index(op.f('ix_shipments_tracking_status'), 'shipments', ['tracking_status'])
    op.create_table(
        'tracking_events',
        sa.Column('shipment_id', sa.String(length=160), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('carrier_status', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('location', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('shipment_id', 'occurred_at', 'carrier_status', name=op.f('pk_tracking_events')),
    )
    op.create_table(
        'returns',
        sa.Column('return_id', sa.String(length=160), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=True),
        sa.Column('inspected_at', sa.DateTime(), nullable=True),
        sa.Column('refunded_at', sa.DateTime(), nullable=True),
        sa.Column('status_at', sa.DateTime(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('return_id', name=op.f('pk_returns')),
    )
    op.create_index(op.f('ix_returns_status'), 'returns', ['status'])
    op.create_table(
        'return_lines',
        sa.Column('return_id', sa.String(length=160), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('order_line_no', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('condition', sa.String(length=16), nullable=True),
        sa.Column('disposition', sa.String(length=16), nullable=True),
        sa.Column('location_id', sa.String(length=64), nullable=True),
        sa.Column('unit_price', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.PrimaryKeyConstraint('return_id', 'line_no', name=op.f('pk_return_lines')),
    )
    op.create_table(
        'refunds',
        sa.Column('refund_id', sa.String(length=160), nullable=False),
        sa.Column('return_id', sa.String(length=160), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('payment_ref', sa.String(length=128), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('gateway_refund_id', sa.String(length=128), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_refunds')),
        sa.UniqueConstraint('return_id', name=op.f('uq_refunds_return_id')),
    )
    op.create_table(
        'notifications',
        sa.Column('notification_id', sa.String(length=200), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('template', sa.String(length=32), nullable=False),
        sa.Column('recipient', sa.String(length=255), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_notifications')),
    )
    op.create_table(
        'fulfillment_events',
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('event', sa.String(length=48), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('flow_run_id', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_fulfillment_events')),
        sa.UniqueConstraint('order_id', 'event', 'at', name=op.f('uq_fulfillment_events_order_id_event_at')),
    )
    op.create_index(op.f('ix_fulfillment_events_event_at'), 'fulfillment_events', ['event', 'at'])
    op.create_table(
        'quarantine',
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('stream', sa.String(length=32), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('source', 'stream', 'external_id', name=op.f('pk_quarantine')),
    )
    op.create_table(
        'fct_order_fulfillment',
        sa.Column('order_id', sa.String(length=128), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=True),
        sa.Column('carrier', sa.String(length=32), nullable=True),
        sa.Column('service', sa.String(length=64), nullable=True),
        sa.Column('shipping_method', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('hold_reason', sa.Text(), nullable=True),
        sa.Column('placed_at', sa.DateTime(), nullable=False),
        sa.Column('payment_verified_at', sa.DateTime(), nullable=True),
        sa.Column('reserved_at', sa.DateTime(), nullable=True),
        sa.Column('waved_at', sa.DateTime(), nullable=True),
        sa.Column('label_booked_at', sa.DateTime(), nullable=True),
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('promised_by', sa.DateTime(), nullable=False),
        sa.Column('order_total', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('label_cost', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=True),
        sa.Column('is_shipped', sa.Boolean(), nullable=False),
        sa.Column('is_delivered', sa.Boolean(), nullable=False),
        sa.Column('is_on_time', sa.Boolean(), nullable=True),
        sa.Column('click_to_ship_hours', sa.Float(), nullable=True),
        sa.Column('cycle_time_hours', sa.Float(), nullable=True),
        sa.Column('has_return', sa.Boolean(), nullable=False),
        sa.Column('refund_amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_fct_order_fulfillment')),
    )
    op.create_table(
        'mart_fulfillment_daily',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('warehouse_id', sa.String(length=16), nullable=False),
        sa.Column('carrier', sa.String(length=32), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.Column('orders_shipped', sa.Integer(), nullable=False),
        sa.Column('orders_delivered', sa.Integer(), nullable=False),
        sa.Column('orders_on_time', sa.Integer(), nullable=False),
        sa.Column('on_time_pct', sa.Float(), nullable=True),
        sa.Column('cycle_time_p50_hours', sa.Float(), nullable=True),
        sa.Column('cycle_time_p90_hours', sa.Float(), nullable=True),
        sa.Column('click_to_ship_p50_hours', sa.Float(), nullable=True),
        sa.Column('orders_on_hold', sa.Integer(), nullable=False),
        sa.Column('orders_backordered', sa.Integer(), nullable=False),
        sa.Column('returns', sa.Integer(), nullable=False),
        sa.Column('refund_amount', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('label_cost', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('revenue', sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'channel', 'warehouse_id', 'carrier', name=op.f('pk_mart_fulfillment_daily')),
    )


def downgrade() -> None:
    op.drop_table('mart_fulfillment_daily')
    op.drop_table('fct_order_fulfillment')
    op.drop_table('quarantine')
    op.drop_table('fulfillment_events')
    op.drop_table('notifications')
    op.drop_table('refunds')
    op.drop_table('return_lines')
    op.drop_table('returns')
    op.drop_table('tracking_events')
    op.drop_table('shipments')
    op.drop_table('pick_lines')
    op.drop_table('waves')
    op.drop_table('backorders')
    op.drop_table('reservations')
    op.drop_table('stock')
    op.drop_table('payments')
    op.drop_table('order_lines')
    op.drop_table('orders')
    op.drop_table('locations')
    op.drop_table('warehouses')
    op.drop_table('sync_cursors')
    op.drop_table('channels')
