"""The WordPress REST plumbing of the WooCommerce sandbox, as woocommerce/woocommerce does it:
WP_Error envelopes, argument checks like rest_validate_request_arg, collection queries like
WC_REST_CRUD_Controller::prepare_objects_query (date_query `after`/`before` are strict and
whole-second; `dates_are_gmt` picks the GMT or the site-time column) with X-WP-Total,
X-WP-TotalPages and Link rel="prev"/"next", order updates, order notes and the official
Shipment Tracking extension's tracking items."""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from connectors.sandbox.woocommerce_orders import TRACKING_META, SimOrder, ceil_second, tracking_id, wp_date

DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$")
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
PROVIDERS = {"United States": {  # a few of the extension's predefined providers
    "Fedex": "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=%1$s",
    "UPS": "https://www.ups.com/track?loc=en_US&tracknum=%1$s",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s",
    "DHL US": "https://www.logistics.dhl/us-en/home/tracking/tracking-ecommerce.html?tracking-id=%1$s"}}


class WooError(Exception):
    """A WP_Error as the REST server serialises it: {"code", "message", "data": {"status"}}."""

    def __init__(self, status: int, code: str, message: str, *, params: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        data: dict = {"status": status}
        if params:
            data["params"] = params
            data["details"] = {k: {"code": "rest_invalid_param", "message": v, "data": None} for k, v in params.items()}
        self.body = {"code": code, "message": message, "data": data}


def invalid(name: str, reason: str) -> WooError:
    return WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: reason})


def not_found() -> WooError:
    return WooError(404, "rest_no_route", "No route was found matching the URL and request method.")


def invalid_order() -> WooError:
    return WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


# --- arguments -----------------------------------------------------------------------------

def int_arg(args, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{name} is not of type integer.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} (inclusive) and {high} (inclusive)" if high else f"greater than or equal to {low}"
        raise invalid(name, f"{name} must be {bounds}")
    return value


def enum_arg(args, name: str, default: str, options: Sequence[str]) -> str:
    value = args.get(name, default)
    if value not in options:
        raise invalid(name, f"{name} is not one of {', '.join(options)}.")
    return value


def list_arg(args, name: str) -> list[str]:
    """`name[]=a&name[]=b` or `name=a,b`, as WordPress reads both."""
    values = args.getlist(f"{name}[]") or args.getlist(name)
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def id_list(args, name: str) -> set[int]:
    return {int(v) for v in list_arg(args, name) if v.isdigit()}


def date_arg(args, name: str) -> datetime | None:
    """The wall-clock part of an RFC 3339 date: WP_Date_Query formats it 'Y-m-d H:i:s' without
    converting, so an offset is ignored; fractions are dropped."""
    raw = args.get(name)
    if raw is None:
        return None
    match = DATE.match(raw.strip())
    if not match:
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                       params={name: "Invalid date."})
    return datetime.fromisoformat(f"{match[1]}T{match[2]}")


def bool_arg(args, name: str) -> bool:
    raw = (args.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise invalid(name, f"{name} is not of type boolean.")
    return raw in ("true", "1")


# --- collections -----------------------------------------------------------------------------

def query_orders(orders: Sequence[SimOrder], args, *, statuses: Sequence[str], tz: ZoneInfo) -> list[SimOrder]:
    """Filter and sort as WC_REST_Orders_Controller does (the caller passes visible orders only)."""
    wanted = list_arg(args, "status") or ["any"]
    options = ("any", "trash", *statuses)
    for i, status in enumerate(wanted):
        if status not in options:
            raise invalid("status", f"status[{i}] is not one of {', '.join(options)}.")
    found = [o for o in orders if "any" in wanted or o.status in wanted]
    if include := id_list(args, "include"):
        found = [o for o in found if o.id in include]
    exclude = id_list(args, "exclude")
    found = [o for o in found if o.id not in exclude]
    gmt = bool_arg(args, "dates_are_gmt")

    def column(moment: datetime) -> datetime:
        return (moment.astimezone(timezone.utc) if gmt else moment.astimezone(tz)).replace(tzinfo=None)

    for name, attr, strictly in (("after", "created", operator.gt), ("before", "created", operator.lt),
                                 ("modified_after", "modified", operator.gt),
                                 ("modified_before", "modified", operator.lt)):
        if (bound := date_arg(args, name)) is not None:
            found = [o for o in found if strictly(column(getattr(o, attr)), bound)]
    orderby = enum_arg(args, "orderby", "date", ORDERBY)
    descending = enum_arg(args, "order", "desc", ("asc", "desc")) == "desc"
    keys: dict[str, Callable[[SimOrder], tuple]] = {"date": lambda o: (o.created, o.id),
                                                    "modified": lambda o: (o.modified, o.id)}
    key = keys.get(orderby, lambda o: (o.id,))
    return sorted(found, key=key, reverse=descending)


def page_of(items: list, args, *, url: str) -> tuple[int, list, list[tuple[str, str]]]:
    """Where the page starts, the page, and the headers WC_REST_CRUD_Controller::get_items sends."""
    per_page = int_arg(args, "per_page", 10, 1, 100)
    page = int_arg(args, "page", 1, 1)
    start = int_arg(args, "offset", (page - 1) * per_page, 0)
    total = len(items)
    pages = -(-total // per_page)
    headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
    query = [(k, v) for k, v in args.items(multi=True) if k != "page"]
    if page > 1:
        headers.append(("Link", f'<{url}?{urlencode(query + [("page", min(page - 1, pages))])}>; rel="prev"'))
    if pages > page:
        headers.append(("Link", f'<{url}?{urlencode(query + [("page", page + 1)])}>; rel="next"'))
    return start, items[start:start + per_page], headers


def stale_row(visible: Sequence[SimOrder], found: list[SimOrder], start: int, args) -> SimOrder | None:
    """What a stale page cache serves first: the row just before this page, already read."""
    if start > 0:
        return found[start - 1]
    after, gmt = date_arg(args, "modified_after"), bool_arg(args, "dates_are_gmt")
    earlier = [o for o in visible if after and gmt and o.modified.replace(tzinfo=None) <= after]
    return max(earlier, key=lambda o: (o.modified, o.id), default=None)


def setting_option(group: str, setting: str, *, value: str, base: str) -> dict:
    """GET /settings/products/woocommerce_weight_unit (wp-api-v3/_setting-options.md)."""
    if (group, setting) != ("products", "woocommerce_weight_unit"):
        raise WooError(404, "rest_setting_setting_invalid", "Invalid setting.")
    about = "This controls what unit you will define weights in."
    return {"id": setting, "label": "Weight unit", "description": about, "type": "select", "default": "kg",
            "options": {"kg": "kg", "g": "g", "lbs": "lbs", "oz": "oz"}, "tip": about, "value": value,
            "_links": {"self": [{"href": f"{base}/wp-json/wc/v3/settings/{group}/{setting}"}],
                       "collection": [{"href": f"{base}/wp-json/wc/v3/settings/{group}"}]}}


# --- writes ------------------------------------------------------------------------------------

def update_order(order: SimOrder, body, *, statuses: Sequence[str], now: datetime, next_meta_id) -> bool:
    """PUT /orders/{id}: status and meta_data; other fields are not simulated. True if changed."""
    if not isinstance(body, dict):
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
    changed = False
    if "status" in body and body["status"] != order.status:
        if body["status"] not in statuses:
            raise invalid("status", f"status is not one of {', '.join(statuses)}.")
        order.status, changed = body["status"], True
        if order.status == "completed":
            order.completed = ceil_second(now)
            order.paid = order.paid or ceil_second(now)
    for entry in body.get("meta_data") or []:
        if not isinstance(entry, dict) or not entry.get("key"):
            raise invalid("meta_data", "meta_data[0][key] is a required property of meta_data[0].")
        by_id = next((m for m in order.meta if entry.get("id") and m["id"] == entry["id"]), None)
        if by_id is not None:
            by_id.update(key=entry["key"], value=entry.get("value"))
        else:
            order.set_meta(entry["key"], entry.get("value"), next_meta_id)
        changed = True
    if changed:
        order.touch(now)
    return changed


def add_note(order: SimOrder, body, *, now: datetime, note_id: int) -> dict:
    if not isinstance(body, dict) or not str(body.get("note") or "").strip():
        raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note", params={"note": "note"})
    note = {"id": note_id, "at": ceil_second(now), "note": str(body["note"]),
            "customer_note": bool(body.get("customer_note")), "added_by_user": bool(body.get("added_by_user"))}
    order.notes.append(note)
    return note


def render_note(order: SimOrder, note: dict, *, base: str, tz: ZoneInfo) -> dict:
    url = f"{base}/wp-json/wc/v3/orders/{order.id}"
    return {"id": note["id"], "author": "admin" if note["added_by_user"] else "system",
            "date_created": wp_date(note["at"], tz), "date_created_gmt": wp_date(note["at"]),
            "note": note["note"], "customer_note": note["customer_note"],
            "_links": {"self": [{"href": f"{url}/notes/{note['id']}"}], "collection": [{"href": f"{url}/notes"}],
                       "up": [{"href": url}]}}


# --- the Shipment Tracking extension ------------------------------------------------------------

def add_tracking(order: SimOrder, body, *, now: datetime, next_meta_id) -> dict:
    """POST .../shipment-trackings: one more item in the order's _wc_shipment_tracking_items."""
    if not isinstance(body, dict) or not str(body.get("tracking_number") or "").strip():
        raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): tracking_number",
                       params={"tracking_number": "tracking_number"})
    shipped = now
    if body.get("date_shipped"):
        try:
            shipped = datetime.fromisoformat(str(body["date_shipped"])[:10]).replace(tzinfo=timezone.utc)
        except ValueError:
            raise invalid("date_shipped", "date_shipped must be YYYY-MM-DD.") from None
    provider, custom = str(body.get("tracking_provider") or ""), str(body.get("custom_tracking_provider") or "")
    number = str(body["tracking_number"]).strip()
    item = {"tracking_provider": "" if custom else provider, "custom_tracking_provider": custom,
            "custom_tracking_link": str(body.get("custom_tracking_link") or "") if custom else "",
            "tracking_number": number, "date_shipped": str(int(shipped.timestamp())),
            "tracking_id": tracking_id(custom or provider, f"{number}-{len(order.tracking_items())}")}
    order.set_meta(TRACKING_META, order.tracking_items() + [item], next_meta_id)
    order.touch(now)
    return item


def render_tracking(order: SimOrder, item: dict, *, base: str) -> dict:
    provider = item.get("custom_tracking_provider") or item.get("tracking_provider") or ""
    link = item.get("custom_tracking_link") or next(
        (fmt for group in PROVIDERS.values() for name, fmt in group.items() if name == provider), "")
    url = f"{base}/wp-json/wc-shipment-tracking/v3/orders/{order.id}/shipment-trackings"
    shipped = datetime.fromtimestamp(int(item.get("date_shipped") or 0), timezone.utc)
    return {"tracking_id": item.get("tracking_id", ""), "tracking_provider": provider,
            "tracking_link": link.replace("%1$s", item.get("tracking_number", "")),
            "tracking_number": item.get("tracking_number", ""),
            "date_shipped": shipped.strftime("%Y-%m-%d"),
            "_links": {"self": [{"href": f"{url}/{item.get('tracking_id', '')}"}], "collection": [{"href": url}],
                       "up": [{"href": f"{base}/wp-json/wc/v3/orders/{order.id}"}]}}
