"""The book_carriers task against a real warehouse (SQLite and PostgreSQL) and the ShipEngine
sandbox over HTTP: parcels go in chunks through bulk quotes and label batches, intent rows come
first, and a crash is recovered from the carrier's batches without buying anything twice."""
from __future__ import annotations

import io
import json
import threading
import time
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import text

import tasks.book_carriers as booking
from connectors.errors import TransientApiError
from connectors.sandbox.shipengine import ShipEngineSandbox
from connectors.sandbox.shipengine_objects import fault_body
from tasks.resources import reset_resources
from tests.conftest import build_order_frames
from warehouse import schema
from warehouse.bulk import upsert
from warehouse.reference import sync_world

AS_OF = datetime(2026, 11, 26, 10, 0)
REGIONS = ["NY", "TX", "WA", "CA"]


@pytest.fixture
def shop(engine, db_url, world, switchboard, url, clock, monkeypatch):
    """The ShipEngine sandbox answering, the task's settings pointed at it and at the warehouse,
    chunks of 3 parcels booked one at a time (tests that want chunks in parallel set BOOKERS);
    returns the sandbox. `shop.events` are the Prefect events emitted."""
    sandbox = ShipEngineSandbox(clock=clock, world=world, seed=5)
    switchboard[1]["app"] = sandbox.wsgi_app
    for name, value in {"DATABASE_URL": db_url, "SANDBOX_SHIPENGINE_URL": url, "HTTP_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(f"CUMPLIDO_{name}", value)
    monkeypatch.setattr(booking, "CHUNK", 3)
    monkeypatch.setattr(booking, "BOOKERS", 1)
    sandbox.events = []
    monkeypatch.setattr(booking, "emit", lambda event, **kwargs: sandbox.events.append((event, kwargs)))
    reset_resources()
    with engine.begin() as conn:
        sync_world(conn, world, now=AS_OF)
    yield sandbox
    reset_resources()


def wave(engine, count: int, **changes: dict) -> list[str]:
    """`count` waved orders leaving EWR; changes: external id -> columns to change. Returns order ids."""
    orders, lines = build_order_frames({f"A{i:03d}": [("SKU-1", 1)] for i in range(count)}, status="waved",
                                       channel="shopify-main", placed_at=pd.Timestamp("2026-11-25 09:00"))
    orders["warehouse_id"] = "EWR"
    orders["ship_to_region"] = [REGIONS[i % len(REGIONS)] for i in range(count)]
    for external_id, columns in changes.items():
        for column, value in columns.items():
            orders.loc[orders["external_id"] == external_id, column] = value
    with engine.begin() as conn:
        upsert(conn, schema.orders, orders)
        upsert(conn, schema.order_lines, lines)
    return orders["order_id"].tolist()


def shipments(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("select s.order_id, s.idempotency_key, s.label_status, s.label_ref, s.error, o.status,"
                                " o.hold_reason from orders o left join shipments s on s.order_id = o.order_id"
                                " order by o.order_id"), conn)


def carrier_labels(sandbox) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in sandbox.labels():
        labels.setdefault(label["external_shipment_id"], []).append(label["label_id"])
    return labels


def ours(engine) -> dict[str, list[str]]:
    rows = shipments(engine)
    bought = rows[rows["label_status"] == "purchased"]
    return {key: [ref] for key, ref in zip(bought["idempotency_key"], bought["label_ref"])}


class LoseBatchAnswer:
    """WSGI middleware: on the `nth` batch, the request matching (method, path_part) is carried out
    but its answer is lost; later label batches are refused (the carrier is down) until `broken` is off."""

    def __init__(self, app, *, method: str, path_part: str, nth: int):
        self.app, self.method, self.path_part, self.nth = app, method, path_part, nth
        self.batches, self.broken, self.requests = 0, True, []

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        self.requests.append(f"{method} {path}")
        self.batches += method == "POST" and path.endswith("/process/labels")
        if not self.broken or self.batches < self.nth or method != self.method or self.path_part not in path:
            return self.app(environ, start_response)
        if self.batches == self.nth:
            b"".join(self.app(environ, lambda *args, **kwargs: None))   # done at the carrier...
        start_response("500 Internal Server Error", [("Content-Type", "application/json")])
        return [json.dumps(fault_body(500)).encode()]                 # ...and the answer is lost


def test_every_waved_parcel_is_booked_once_in_label_batches(shop, engine):
    wave(engine, 8)

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result == {"booked": 8, "recovered": 0, "failed": 0, "sla_at_risk": 0}
    assert ours(engine) == carrier_labels(shop) and len(carrier_labels(shop)) == 8
    assert len({label["batch_id"] for label in shop.labels()}) == 3          # chunks of 3, 3 and 2
    assert set(shipments(engine)["status"]) == {"label_booked"}
    assert booking.book_carriers.fn(as_of=AS_OF) == {"booked": 0}


def test_chunks_booked_in_parallel_buy_each_parcel_once(shop, engine, monkeypatch):
    monkeypatch.setattr(booking, "BOOKERS", 3)
    wave(engine, 20)

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result == {"booked": 20, "recovered": 0, "failed": 0, "sla_at_risk": 0}
    assert ours(engine) == carrier_labels(shop) and len(carrier_labels(shop)) == 20
    assert len({label["batch_id"] for label in shop.labels()}) == 7          # 6 chunks of 3 and one of 2
    assert set(shipments(engine)["status"]) == {"label_booked"}


def test_a_crash_among_parallel_chunks_is_recovered_without_buying_twice(shop, engine, switchboard, monkeypatch):
    monkeypatch.setattr(booking, "BOOKERS", 3)
    wave(engine, 20)
    switchboard[1]["app"] = breaker = LoseBatchAnswer(shop.wsgi_app, method="POST", path_part="/process/labels", nth=2)

    with pytest.raises(TransientApiError):
        booking.book_carriers.fn(as_of=AS_OF)
    after_crash = shipments(engine)
    bought_before, recorded_before = len(carrier_labels(shop)), len(ours(engine))
    assert recorded_before < bought_before < 20                            # one batch bought, not recorded
    assert (after_crash["label_status"] == "intent").sum() >= bought_before - recorded_before
    breaker.broken = False

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result["recovered"] == bought_before - recorded_before          # found at the carrier, not re-bought
    assert result["booked"] == 20 - recorded_before and result["failed"] == 0
    assert ours(engine) == carrier_labels(shop) and len(carrier_labels(shop)) == 20   # none bought twice
    assert set(shipments(engine)["status"]) == {"label_booked"}


@pytest.mark.parametrize("lost", [("POST", "/process/labels"), ("GET", "/v1/labels")],
                         ids=["process-answer-lost", "labels-listing-lost"])
def test_a_batch_bought_before_a_crash_is_recorded_by_the_next_run(shop, engine, switchboard, lost):
    wave(engine, 8)
    switchboard[1]["app"] = breaker = LoseBatchAnswer(shop.wsgi_app, method=lost[0], path_part=lost[1], nth=2)

    with pytest.raises(TransientApiError):
        booking.book_carriers.fn(as_of=AS_OF)
    after_crash = shipments(engine)
    assert len(carrier_labels(shop)) == 6 and len(ours(engine)) == 3   # the 2nd batch: bought, not recorded
    assert (after_crash["label_status"] == "intent").sum() == 3         # ...but its intents were written first
    breaker.broken, breaker.requests = False, []

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result == {"booked": 5, "recovered": 3, "failed": 0, "sla_at_risk": 0}
    assert ours(engine) == carrier_labels(shop) and len(carrier_labels(shop)) == 8   # none bought twice
    assert not [r for r in breaker.requests if "/v1/labels/external_shipment_id/" in r]   # found by its batch


def test_a_bad_address_fails_only_its_own_parcel(shop, engine):
    orders = wave(engine, 5, A001={"ship_to_postal_code": "ABCDE"}, A003={"ship_to_city": ""})

    result = booking.book_carriers.fn(as_of=AS_OF)

    rows = shipments(engine).set_index("order_id")
    assert result == {"booked": 3, "recovered": 0, "failed": 2, "sla_at_risk": 0}
    assert rows.loc[orders[1], "error"] == \
        "Recipient address could not be verified: postal_code 'ABCDE' is not a US ZIP code"
    assert rows.loc[orders[3], "error"] == "shipment.ship_to.city_locality is required"
    assert rows.loc[[orders[1], orders[3]], "label_status"].tolist() == ["failed", "failed"]
    assert rows.loc[[orders[1], orders[3]], "status"].tolist() == ["on_hold", "on_hold"]
    assert rows.loc[orders[1], "hold_reason"].startswith("label purchase failed: Recipient address")
    assert ours(engine) == carrier_labels(shop) and len(carrier_labels(shop)) == 3
    assert [(event, kwargs["resource"]) for event, kwargs in shop.events] == \
        [("cumplido.label.failed", f"cumplido.order.{orders[1]}")]


def hold_one_unit_each(engine, order_ids: list[str], *, on_hand: int) -> None:
    """Each order holds one unit of SKU-1 in bin EWR-A1 by an active reservation."""
    with engine.begin() as conn:
        upsert(conn, schema.stock, pd.DataFrame({"sku": ["SKU-1"], "location_id": ["EWR-A1"], "warehouse_id": ["EWR"],
                                                 "on_hand": [on_hand], "reserved": [len(order_ids)]}))
        upsert(conn, schema.reservations, pd.DataFrame({
            "reservation_id": [f"{o}/1/EWR-A1" for o in order_ids], "order_id": order_ids, "line_no": 1,
            "sku": "SKU-1", "location_id": "EWR-A1", "warehouse_id": "EWR", "quantity": 1, "status": "active",
            "created_at": AS_OF, "expires_at": pd.Timestamp("2026-11-30")}))


def shelf(engine) -> tuple[list[int], dict[str, int]]:
    """[on_hand, reserved] of bin EWR-A1 and the reservations counted by status."""
    with engine.connect() as conn:
        bin_ = conn.execute(text("select on_hand, reserved from stock where location_id = 'EWR-A1'")).one()
        by_status = dict(conn.execute(text("select status, count(*) from reservations group by status")).all())
    return list(bin_), by_status


def test_labelled_parcels_units_leave_the_shelf_once_a_crashed_runs_too(shop, engine):
    orders = wave(engine, 6, A005={"ship_to_postal_code": "ABCDE"})
    with engine.begin() as conn:   # a run that crashed after recording A004's label, before its units left
        conn.execute(text(f"update orders set status = 'label_booked' where order_id = '{orders[4]}'"))
    hold_one_unit_each(engine, orders, on_hand=10)

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result["booked"] == 4 and result["failed"] == 1
    assert shelf(engine) == ([5, 1], {"consumed": 5, "active": 1})   # the refused parcel's unit stays reserved
    assert booking.book_carriers.fn(as_of=AS_OF) == {"booked": 0}
    assert shelf(engine) == ([5, 1], {"consumed": 5, "active": 1})   # consumed once


class ShelfAtEachBatch:
    """WSGI middleware: before each label batch is processed, note how many reservations are
    consumed. Before the n-th batch it first waits (up to 10 s) for at least `awaited[n]` to be:
    the units of earlier batches are consumed beside the later ones, in another thread, so
    without the wait which one goes first would be the machine's choice."""

    def __init__(self, app, engine, awaited: list[int]):
        self.app, self.engine, self.awaited, self.consumed = app, engine, awaited, []

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/process/labels"):
            awaited, deadline = self.awaited[len(self.consumed)], time.monotonic() + 10
            while self._consumed() < awaited and time.monotonic() < deadline:
                time.sleep(0.02)
            self.consumed.append(self._consumed())
        return self.app(environ, start_response)

    def _consumed(self) -> int:
        return shelf(self.engine)[1].get("consumed", 0)


def test_a_warehouse_units_leave_the_shelf_while_the_next_warehouse_is_booked(shop, engine, switchboard):
    orders = wave(engine, 6, **{f"A{i:03d}": {"warehouse_id": "LAX"} for i in range(3, 6)})
    hold_one_unit_each(engine, orders, on_hand=10)
    switchboard[1]["app"] = watch = ShelfAtEachBatch(shop.wsgi_app, engine, awaited=[0, 3])

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result["booked"] == 6
    assert watch.consumed == [0, 3]      # EWR's 3 parcels (one chunk) consumed before LAX's batch is bought
    assert shelf(engine) == ([4, 0], {"consumed": 6})


def test_labelled_units_leave_the_shelf_every_few_orders_while_later_chunks_are_booked(
        shop, engine, switchboard, monkeypatch):
    monkeypatch.setattr(booking, "CONSUME_EVERY", 3)     # one chunk's worth
    orders = wave(engine, 9)                             # one warehouse, three chunks
    hold_one_unit_each(engine, orders, on_hand=10)
    switchboard[1]["app"] = watch = ShelfAtEachBatch(shop.wsgi_app, engine, awaited=[0, 3, 6])

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result["booked"] == 9
    assert watch.consumed == [0, 3, 6]   # each chunk's units consumed before the next chunk's batch is bought
    assert shelf(engine) == ([1, 0], {"consumed": 9})   # the last chunk's by the pass at the end


class QuotesWaitForABatch:
    """WSGI middleware: a quote for a parcel leaving from `origin_zip` waits (up to 10 s) until a
    label batch has been processed, and notes whether one had."""

    def __init__(self, app, origin_zip: str):
        self.app, self.origin_zip, self.batch_done, self.waited_for_batch = app, origin_zip, threading.Event(), []

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method == "POST" and path == "/v1/rates":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            if json.loads(body)["shipment"]["ship_from"]["postal_code"] == self.origin_zip:
                self.waited_for_batch.append(self.batch_done.wait(timeout=10))
        answer = self.app(environ, start_response)
        if method == "POST" and path.endswith("/process/labels"):
            self.batch_done.set()
        return answer


def test_the_next_warehouse_is_priced_while_the_first_one_is_booked(shop, engine, switchboard, world):
    wave(engine, 6, **{f"A{i:03d}": {"warehouse_id": "LAX"} for i in range(3, 6)})
    switchboard[1]["app"] = watch = QuotesWaitForABatch(shop.wsgi_app, world.warehouse("LAX").address.postal_code)

    result = booking.book_carriers.fn(as_of=AS_OF)

    assert result["booked"] == 6
    assert watch.waited_for_batch and all(watch.waited_for_batch)   # EWR's batch was bought meanwhile
