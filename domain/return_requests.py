"""Reverse logistics: turn storefront return requests into return and return-line rows."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from domain.records import Malformed, ReturnRequest
from domain.states import RETURN_REQUESTED

RETURN_COLUMNS = ["return_id", "order_id", "status", "requested_at", "received_at", "inspected_at", "refunded_at",
                  "status_at", "raw", "store_refunded_amount"]
LINE_COLUMNS = ["return_id", "line_no", "order_line_no", "sku", "quantity", "reason", "condition", "disposition",
                "location_id", "unit_price"]
QUARANTINE_COLUMNS = ["source", "stream", "external_id", "reason", "raw"]


@dataclass(frozen=True)
class ValidatedReturns:
    returns: pd.DataFrame
    lines: pd.DataFrame
    quarantined: pd.DataFrame


def _problems(request: ReturnRequest, order_lines: dict[str, tuple[int, float]], known_order: bool) -> list[str]:
    problems = [] if known_order else [f"order {request.order_external_id} is not in the warehouse"]
    if not request.lines:
        problems.append("no return lines")
    for line in request.lines:
        if line.external_line_id not in order_lines and known_order:
            problems.append(f"line {line.external_line_id} is not a line of the order")
        if line.quantity <= 0:
            problems.append(f"line {line.external_line_id}: quantity {line.quantity} <= 0")
    return problems


def validate_return_requests(
    pulled: Sequence[ReturnRequest | Malformed], order_lines: pd.DataFrame, *, at: datetime,
) -> ValidatedReturns:
    """order_lines: order_id, line_no, external_line_id, sku, unit_price of the orders concerned."""
    by_order = {oid: {r.external_line_id: (r.line_no, r.unit_price, r.sku) for r in group.itertuples()}
                for oid, group in order_lines.groupby("order_id")}
    returns, lines, parked = [], [], []
    for request in pulled:
        if isinstance(request, Malformed):
            parked.append([request.source, request.stream, request.external_id, request.reason, json.dumps(request.raw, default=str)])
            continue
        order_id = f"{request.channel}:{request.order_external_id}"
        known = by_order.get(order_id, {})
        if problems := _problems(request, known, order_id in by_order):
            parked.append([request.channel, "returns", request.external_id, "; ".join(problems), json.dumps(request.raw, default=str)])
            continue
        return_id = f"{request.channel}:{request.external_id}"
        returns.append([return_id, order_id, RETURN_REQUESTED, request.requested_at, None, None, None, at,
                        json.dumps(request.raw, default=str), float(request.refunded_amount)])
        for n, line in enumerate(request.lines, start=1):
            line_no, unit_price, sku = known[line.external_line_id]
            lines.append([return_id, n, line_no, line.sku or sku, line.quantity, line.reason, None, None, None, unit_price])
    return ValidatedReturns(
        returns=pd.DataFrame(returns, columns=RETURN_COLUMNS).drop_duplicates("return_id", keep="last"),
        lines=pd.DataFrame(lines, columns=LINE_COLUMNS).drop_duplicates(["return_id", "line_no"], keep="last"),
        quarantined=pd.DataFrame(parked, columns=QUARANTINE_COLUMNS).drop_duplicates(["source", "stream", "external_id"], keep="last"),
    )
