"""The single source of truth for the warehouse schema (SQLAlchemy Core).

Alembic migrations, repositories and tests all read these Table objects. Timestamps are
naive UTC. Money is NUMERIC(12, 2) in the order's currency. Keys are natural or
deterministic strings, so every write can be an idempotent upsert.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Float, Index, Integer,
    MetaData, Numeric, String, Table, Text, UniqueConstraint,
)

SCHEMA_REVISION = "0006"   # the newest migration under warehouse/migrations/versions: bump with each one
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
})

Money = Numeric(12, 2, asdecimal=False)

# --- reference data -------------------------------------------------------------------
channels = Table(
    "channels", metadata,
    Column("channel", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("shop_domain", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

sync_cursors = Table(
    "sync_cursors", metadata,
    Column("channel", String(64), primary_key=True),
    Column("stream", String(32), primary_key=True),
    Column("cursor_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

reference_syncs = Table(  # what reference data was last synced from: sync_world skips an unchanged world
    "reference_syncs", metadata,
    Column("source", String(32), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("synced_at", DateTime, nullable=False),
)

warehouses = Table(
    "warehouses", metadata,
    Column("warehouse_id", String(16), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("priority", Integer, nullable=False),
)

locations = Table(
    "locations", metadata,
    Column("location_id", String(64), primary_key=True),
    Column("warehouse_id", String(16), nullable=False),
    Column("aisle", Integer, nullable=False),
    Column("bay", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
)

# --- reception ------------------------------------------------------------------------
orders = Table(
    "orders", metadata,
    Column("order_id", String(128), primary_key=True),          # "<channel>:<external_id>"
    Column("channel", String(64), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("order_number", String(64), nullable=False),
    Column("placed_at", DateTime, nullable=False),
    Column("source_updated_at", DateTime, nullable=False),
    Column("customer_name", String(255), nullable=False),
    Column("customer_email", String(255), nullable=False),
    Column("ship_to_line1", String(255), nullable=False),
    Column("ship_to_city", String(128), nullable=False),
    Column("ship_to_region", String(64), nullable=False),
    Column("ship_to_postal_code", String(32), nullable=False),
    Column("ship_to_country", String(2), nullable=False),
    Column("shipping_method", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_amount", Money, nullable=False),
    Column("payment_ref", String(128)),
    Column("status", String(32), nullable=False),
    Column("hold_reason", Text),
    Column("status_at", DateTime, nullable=False),
    Column("warehouse_id", String(16)),
    Column("promised_by", DateTime, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    UniqueConstraint("channel", "external_id"),
    Index(None, "status"),
)

# The order as the store sent it (JSON text), apart from `orders`: written when the order is
# pulled, read to compare a re-read order, never rewritten by the stages' status updates.
order_payloads = Table(
    "order_payloads", metadata,
    Column("order_id", String(128), primary_key=True),
    Column("raw", Text, nullable=False),
)

order_lines = Table(
    "order_lines", metadata,
    Column("order_id", String(128), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("external_line_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("weight_kg", Float, nullable=False),
    CheckConstraint("quantity > 0", name="positive_quantity"),
)

payments = Table(
    "payments", metadata,
    Column("order_id", String(128), primary_key=True),
    Column("gateway", String(32), nullable=False),
    Column("payment_ref", String(128), nullable=False),
    Column("status", String(32), nullable=False),               # succeeded | pending | failed
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("checked_at", DateTime, nullable=False),
    Column("raw", Text, nullable=False),
)

# --- storage --------------------------------------------------------------------------
stock = Table(
    "stock", metadata,
    Column("sku", String(64), primary_key=True),
    Column("location_id", String(64), primary_key=True),
    Column("warehouse_id", String(16), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="never_oversold"),
    Index(None, "warehouse_id", "sku"),
)

reservations = Table(
    "reservations", metadata,
    Column("reservation_id", String(255), primary_key=True),    # "<order_id>/<line_no>/<location_id>"
    Column("order_id", String(128), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("location_id", String(64), nullable=False),
    Column("warehouse_id", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(16), nullable=False),               # active | consumed | released
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index(None, "order_id"),
    Index(None, "status", "expires_at"),
)

backorders = Table(
    "backorders", metadata,
    Column("order_id", String(128), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity_short", Integer, nullable=False),
    Column("status", String(16), nullable=False),               # open | filled
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# --- shipping -------------------------------------------------------------------------
waves = Table(
    "waves", metadata,
    Column("wave_id", String(128), primary_key=True),
    Column("warehouse_id", String(16), nullable=False),
    Column("cutoff_at", DateTime, nullable=False),
    Column("order_count", Integer, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("travel_distance", Float, nullable=False),
    Column("status", String(16), nullable=False),               # released | picked
    Column("created_at", DateTime, nullable=False),
)

pick_lines = Table(
    "pick_lines", metadata,
    Column("wave_id", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True),                   # walking order through the bins
    Column("order_id", String(128), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("location_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
)

shipments = Table(
    "shipments", metadata,
    Column("shipment_id", String(160), primary_key=True),       # "<order_id>/out" or "<return_id>/ret"
    Column("order_id", String(128), nullable=False),
    Column("direction", String(8), nullable=False),             # outbound | return
    Column("warehouse_id", String(16), nullable=False),
    Column("carrier", String(32)),
    Column("service", String(64)),
    Column("rate_amount", Money),
    Column("currency", String(3)),
    Column("idempotency_key", String(160), nullable=False, unique=True),
    Column("label_status", String(16), nullable=False),         # intent | purchased | failed
    Column("label_ref", String(128)),
    Column("tracking_number", String(64)),
    Column("tracking_status", String(32)),
    Column("tracking_status_at", DateTime),
    Column("promised_by", DateTime),
    Column("shipped_at", DateTime),
    Column("delivered_at", DateTime),
    Column("pushed_to_storefront_at", DateTime),
    Column("error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index(None, "order_id", "direction"),                      # an order's outbound parcel, its returns'
    Index(None, "label_status"),
    Index(None, "tracking_status"),
)

carrier_quotes = Table(  # a carrier's rates for what it priced (a lane), kept minutes between runs
    "carrier_quotes", metadata,
    Column("scope", String(64), primary_key=True),              # the carrier account and its carrier set
    Column("quote_key", String(64), primary_key=True),          # e.g. a ShipEngine lane's reference
    Column("quoted_at", DateTime, nullable=False),              # real time, not a run's as_of
    Column("rates", Text, nullable=False),                      # JSON list of domain.records.Rate
)

tracking_events = Table(
    "tracking_events", metadata,
    Column("shipment_id", String(160), primary_key=True),
    Column("occurred_at", DateTime, primary_key=True),
    Column("carrier_status", String(64), primary_key=True),
    Column("status", String(32), nullable=False),               # canonical tracking state
    Column("description", Text, nullable=False),
    Column("location", String(255)),
)

# --- reverse logistics ----------------------------------------------------------------
returns = Table(
    "returns", metadata,
    Column("return_id", String(160), primary_key=True),         # "<channel>:<external return id>"
    Column("order_id", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("received_at", DateTime),
    Column("inspected_at", DateTime),
    Column("refunded_at", DateTime),
    Column("status_at", DateTime, nullable=False),
    Column("raw", Text, nullable=False),
    Column("store_refunded_amount", Money, nullable=False, server_default="0"),  # refunded in the store itself
    Index(None, "status"),
)

return_lines = Table(
    "return_lines", metadata,
    Column("return_id", String(160), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_line_no", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("condition", String(16)),                            # sellable | damaged
    Column("disposition", String(16)),                          # restocked | quarantined
    Column("location_id", String(64)),
    Column("unit_price", Money, nullable=False),
)

refunds = Table(
    "refunds", metadata,
    Column("refund_id", String(160), primary_key=True),         # deterministic idempotency key
    Column("return_id", String(160), nullable=False, unique=True),
    Column("order_id", String(128), nullable=False),
    Column("payment_ref", String(128), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),               # intent | succeeded | failed
    Column("gateway_refund_id", String(128)),
    Column("error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

notifications = Table(  # the outbox: a mailer drains rows whose sent_at is NULL
    "notifications", metadata,
    Column("notification_id", String(200), primary_key=True),   # "<shipment_id>/<template>"
    Column("order_id", String(128), nullable=False),
    Column("template", String(32), nullable=False),             # shipped | delivered | exception | refunded
    Column("recipient", String(255), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
)

# --- audit and parking ----------------------------------------------------------------
fulfillment_events = Table(
    "fulfillment_events", metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", String(128), nullable=False),
    Column("event", String(48), nullable=False),                # the state entered, e.g. "reserved"
    Column("at", DateTime, nullable=False),
    Column("flow_run_id", String(64)),
    Column("detail", Text),
    UniqueConstraint("order_id", "event", "at"),
    Index(None, "event", "at"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("source", String(64), primary_key=True),             # channel or gateway
    Column("stream", String(32), primary_key=True),             # orders | returns | ...
    Column("external_id", String(128), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
)

# --- analysts' tables (rebuilt by refresh_metrics; definitions in warehouse/metrics.py) ---
fct_order_fulfillment = Table(
    "fct_order_fulfillment", metadata,
    Column("order_id", String(128), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("warehouse_id", String(16)),
    Column("carrier", String(32)),
    Column("service", String(64)),
    Column("shipping_method", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("hold_reason", Text),
    Column("placed_at", DateTime, nullable=False),
    Column("payment_verified_at", DateTime),
    Column("reserved_at", DateTime),
    Column("waved_at", DateTime),
    Column("label_booked_at", DateTime),
    Column("shipped_at", DateTime),
    Column("delivered_at", DateTime),
    Column("promised_by", DateTime, nullable=False),
    Column("order_total", Money, nullable=False),
    Column("label_cost", Money),
    Column("is_shipped", Boolean, nullable=False),
    Column("is_delivered", Boolean, nullable=False),
    Column("is_on_time", Boolean),                              # NULL until delivered or late
    Column("click_to_ship_hours", Float),
    Column("cycle_time_hours", Float),                          # placed -> delivered
    Column("has_return", Boolean, nullable=False),
    Column("refund_amount", Money, nullable=False),
    Column("refreshed_at", DateTime, nullable=False),
)

mart_fulfillment_daily = Table(
    "mart_fulfillment_daily", metadata,
    Column("day", Date, primary_key=True),                      # order placed day (UTC)
    Column("channel", String(64), primary_key=True),
    Column("warehouse_id", String(16), primary_key=True),       # "-" before allocation
    Column("carrier", String(32), primary_key=True),            # "-" before booking
    Column("orders", Integer, nullable=False),
    Column("orders_shipped", Integer, nullable=False),
    Column("orders_delivered", Integer, nullable=False),
    Column("orders_on_time", Integer, nullable=False),
    Column("on_time_pct", Float),
    Column("cycle_time_p50_hours", Float),
    Column("cycle_time_p90_hours", Float),
    Column("click_to_ship_p50_hours", Float),
    Column("orders_on_hold", Integer, nullable=False),
    Column("orders_backordered", Integer, nullable=False),
    Column("returns", Integer, nullable=False),
    Column("refund_amount", Money, nullable=False),
    Column("label_cost", Money, nullable=False),
    Column("revenue", Money, nullable=False),
    Column("refreshed_at", DateTime, nullable=False),
)
