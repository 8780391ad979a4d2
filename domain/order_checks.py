"""Reception: the rules an order must pass to enter the pipeline, each failure a readable reason."""
from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from config.world import World
from domain.records import ChannelOrder, OrderLine

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SHIP_TO_FIELDS = ("line1", "city", "region", "postal_code", "country")


def order_problems(order: ChannelOrder, *, world: World, known_skus: set[str]) -> list[str]:
    """Every reason this order cannot enter the pipeline, in a stable order (empty = valid)."""
    reasons = []
    if not order.external_id:
        reasons.append("missing external id")
    if not isinstance(order.placed_at, datetime):
        reasons.append("missing placed_at")
    if not (order.customer_name or (order.ship_to and order.ship_to.name)):
        reasons.append("missing customer name")
    if not order.customer_email or "@" not in order.customer_email:
        reasons.append("missing or invalid customer email")
    reasons += _ship_to_problems(order)
    if order.shipping_method not in world.sla:
        reasons.append(f"unknown shipping method {order.shipping_method!r}")
    if not isinstance(order.currency, str) or not _CURRENCY.match(order.currency):
        reasons.append(f"bad currency {order.currency!r}")
    if not _finite(order.total_amount):
        reasons.append("missing total")
    elif order.total_amount < 0:
        reasons.append(f"negative total {order.total_amount:.2f}")
    if not order.lines:
        reasons.append("no lines")
    for no, line in enumerate(order.lines, start=1):
        reasons += [f"line {no}: {problem}" for problem in _line_problems(line, known_skus)]
    return reasons


def _ship_to_problems(order: ChannelOrder) -> list[str]:
    if order.ship_to is None:
        return ["missing ship-to address"]
    missing = [name for name in _SHIP_TO_FIELDS if not getattr(order.ship_to, name)]
    reasons = [f"ship-to missing {', '.join(missing)}"] if missing else []
    if order.ship_to.country and not _COUNTRY.match(order.ship_to.country):
        reasons.append(f"ship-to country {order.ship_to.country!r} is not an ISO 3166 alpha-2 code")
    return reasons


def _line_problems(line: OrderLine, known_skus: set[str]) -> list[str]:
    problems = []
    if not line.sku:
        problems.append("missing SKU")
    elif line.sku not in known_skus:
        problems.append(f"unknown SKU {line.sku!r}")
    if not isinstance(line.quantity, int) or line.quantity <= 0:
        problems.append(f"quantity {line.quantity!r} <= 0")
    if not _finite(line.unit_price) or line.unit_price < 0:
        problems.append(f"bad unit price {line.unit_price!r}")
    if not _finite(line.weight_kg) or line.weight_kg < 0:
        problems.append(f"bad weight {line.weight_kg!r}")
    return problems


def _finite(value: Any) -> bool:
    if type(value) is float or type(value) is int:     # the usual case, checked fast (a peak day: 500k checks)
        return math.isfinite(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
