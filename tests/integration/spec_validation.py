"""Check every HTTP exchange a connector makes against the vendor's official OpenAPI spec.

The specs live outside the repo (`<repo>/../shared/specs`, see its SOURCES.md) and are read
once per test session. openapi-core reads OpenAPI 3.0 strictly, and both vendors' documents
lean on looser readings their code generators apply; `_loosen` bridges exactly those gaps in
memory (the files are never edited) and each rule says which spec idiom it covers.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml

SPECS_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs"
NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}


@dataclass(frozen=True)
class VendorSpec:
    name: str
    relative_path: str
    server: str

    @property
    def path(self) -> Path:
        return SPECS_DIR / self.relative_path


STRIPE = VendorSpec("stripe", "stripe/spec3.yaml", "https://api.stripe.com")
SHIPENGINE = VendorSpec("shipengine", "shipengine/openapi.yaml", "https://api.shipengine.com")
# Shippo publishes OpenAPI 3.1 (openapi-core reads it as such); none of the fixups above apply.
SHIPPO = VendorSpec("shippo", "shippo/public-api.yaml", "https://api.goshippo.com")
# PayPal publishes one document per API: orders are read from Orders v2, refunds made through
# Payments v2; the OAuth2 token service is in neither.
PAYPAL_ORDERS = VendorSpec("paypal orders v2", "paypal/checkout_orders_v2.json", "https://api-m.sandbox.paypal.com")
PAYPAL_PAYMENTS = VendorSpec("paypal payments v2", "paypal/payments_payment_v2.json",
                             "https://api-m.sandbox.paypal.com")


def _walk(node: Any, visit: Callable[[dict], None]) -> None:
    """Depth-first over every dict of the document, children before parents."""
    if isinstance(node, dict):
        for value in node.values():
            _walk(value, visit)
        visit(node)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        node = functools.reduce(lambda d, key: d[key], node["$ref"][2:].split("/"), doc)
    return node


def _merge_all_of(doc: dict, node: dict, stack: tuple[str, ...]) -> None:
    """Fold allOf parts into the node: properties and required are unions, any other keyword
    is kept from the node itself or else from the first part that has it."""
    parts = node.pop("allOf")
    for part in parts:
        ref = part.get("$ref")
        if ref is not None and ref in stack:
            node.setdefault("allOf", []).append(part)  # a cycle: leave it to the validator
            continue
        part = dict(_resolve(doc, part))
        if "allOf" in part:
            _merge_all_of(doc, part, stack + ((ref,) if ref else ()))
        for key, value in part.items():
            if key == "properties":
                node["properties"] = {**value, **node.get("properties", {})}
            elif key == "required":
                node["required"] = sorted(set(node.get("required", [])) | set(value))
            elif key not in node:
                node[key] = value


def _loosen(doc: dict, *, closed_world: bool) -> None:
    def visit(node: dict) -> None:
        # ShipEngine composes objects with allOf, each part closed by `additionalProperties:
        # false`, meaning "nothing beyond the merged parts"; plain JSON Schema would apply each
        # part's closure to the whole object and refuse every field. Merge the parts instead.
        if "allOf" in node and closed_world:
            _merge_all_of(doc, node, ())
        # Stripe and ShipEngine write `nullable: true` next to anyOf/allOf without a `type`;
        # OAS 3.0.3 (and openapi-core) ignore nullable there, so `null` would be refused.
        if node.get("nullable") is True and "type" not in node and \
                any(k in node for k in ("anyOf", "oneOf", "allOf", "$ref")):
            inner = {k: v for k, v in node.items() if k != "nullable"}
            flags = {k: node[k] for k in ("readOnly", "writeOnly") if k in node}
            node.clear()
            node.update(anyOf=[inner, dict(NULL_ONLY)], **flags)
        # Stripe's nullable enums (cancellation_reason, setup_future_usage...) leave null out of
        # the enum, which OAS 3.0.3 says must list it for null to pass.
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        # openapi-core deserialises deepObject only for plain objects: Stripe's `created` is
        # anyOf(range object, integer) and `expand` is an array. Keep the object branch.
        if node.get("style") == "deepObject" and "schema" in node:
            node["schema"] = _object_branch(node, node["schema"])
        # The same idiom in form bodies: the encoding says deepObject, the property holds the schema.
        if "encoding" in node and "schema" in node:
            properties = _resolve(doc, node["schema"]).get("properties", {})
            for name, encoding in node["encoding"].items():
                if encoding.get("style") == "deepObject" and name in properties:
                    properties[name] = _object_branch(encoding, properties[name])
    _walk(doc, visit)


def _object_branch(holder: dict, schema: dict) -> dict:
    """Keep the object branch of a deepObject schema; a non-object one is read as plain form."""
    objects = [m for m in schema.get("anyOf", []) if m.get("type") == "object"]
    if objects:
        return objects[0]
    if schema.get("type") != "object":
        holder["style"] = "form"
    return schema


def _shipengine_fixups(doc: dict) -> None:
    # calculate_rates_request_body requires BOTH shipment_id and shipment while its oneOf says
    # "either", and as both members hold only optional fields the oneOf can never pass. Keep the
    # intent: either field, each validated by its own schema.
    schemas = doc["components"]["schemas"]
    body = schemas["calculate_rates_request_body"]
    body.pop("required", None)
    for member in body.pop("oneOf"):
        body["properties"].update(_resolve(doc, member)["properties"])
    # The shipment to rate is documented (Get Shipping Rates guide) as addresses and packages,
    # the carriers coming from rate_options.carrier_ids; the generated schema also demands one
    # carrier_id/service_code and the read-only shipment_id.
    schemas["address_validating_shipment"]["required"] = ["ship_to", "ship_from"]
    # Labels bought outside a batch carry "batch_id": "", which the se_id pattern refuses; the
    # sandbox leaves the field out, so it cannot stay required.
    schemas["create_label_response_body"]["required"].remove("batch_id")
    # Bulk rates repeat the first idiom: shipment_ids or shipments sit in a oneOf that the closed
    # body does not see. Same reading: either field, each validated by its own schema.
    bulk = schemas["compare_bulk_rates_request_body"]
    for member in bulk.pop("oneOf"):
        bulk["properties"].update(_resolve(doc, member)["properties"])
    # The two bodies of create_batch_request differ only by the optional process_labels, so every
    # body without it matches both and a oneOf can never pass: either body will do.
    schemas["create_batch_request"]["anyOf"] = schemas["create_batch_request"].pop("oneOf")
    # rates_information.created_at is a date-time AND an se_id, which no value can be; GET
    # /v1/shipments/{id}/rates requires it. Keep the date-time.
    schemas["rates_information"]["properties"]["created_at"].pop("allOf")
    # HTTP forbids a body in a 204, but the spec describes one (empty_response_body), which
    # openapi-core then demands: read every 204 as having no content.
    for path in doc["paths"].values():
        for operation in path.values():
            if isinstance(operation, dict) and "204" in (operation.get("responses") or {}):
                operation["responses"]["204"].pop("content", None)


@functools.cache
def load_spec(vendor: VendorSpec):
    """The vendor's spec as an openapi-core OpenAPI object, built once per session."""
    from openapi_core import Config, OpenAPI

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: Stripe in ~1.5 s; pure Python ~6 s
    doc = yaml.load(vendor.path.read_text(), Loader=loader)
    if vendor is SHIPENGINE:
        _shipengine_fixups(doc)
    _loosen(doc, closed_world=vendor is SHIPENGINE)
    # The documents themselves fail openapi-spec-validator (ShipEngine has `errors: null` inside
    # a schema); we validate traffic, not the documents, so skip that costly meta-check.
    return OpenAPI.from_dict(doc, config=Config(spec_validator_cls=None))


def missing_reason(vendor: VendorSpec) -> str | None:
    if vendor.path.is_file():
        return None
    return (f"{vendor.name} OpenAPI spec not found at {vendor.path}; contract checks need "
            "../shared/specs next to the repo (see its SOURCES.md)")


def spec_or_skip(vendor: VendorSpec):
    """For tests that are about the spec itself: skip them when it is absent."""
    reason = missing_reason(vendor)
    if reason:
        pytest.skip(reason)
    return load_spec(vendor)


@dataclass
class ContractRecorder:
    """A `requests` response hook validating each request/response pair against the spec:

        recorder = ContractRecorder(STRIPE, base_url).attach(gateway.session)
        ...                                  # every exchange is checked as it happens
        recorder.assert_clean()              # fails listing each violation

    Without the spec the business assertions of the test still run; only this check is
    skipped, with a warning that says why.
    """

    vendor: VendorSpec
    base_url: str
    openapi: Any = None
    exchanges: int = 0
    errors: list[str] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    skipped: str | None = None

    def __post_init__(self) -> None:
        if self.openapi is None:
            self.skipped = missing_reason(self.vendor)
            self.openapi = None if self.skipped else load_spec(self.vendor)

    def attach(self, session: requests.Session) -> "ContractRecorder":
        session.hooks["response"].append(self.hook)
        return self

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        request = response.request
        self.exchanges += 1
        self.operations.add(f"{request.method} {urlsplit(request.url).path} -> {response.status_code}")
        if not self.skipped:
            self.errors.extend(validate_exchange(self.openapi, response, base_url=self.base_url,
                                                 server=self.vendor.server))
        return response

    def assert_clean(self) -> None:
        if self.skipped:
            warnings.warn(f"contract check skipped: {self.skipped}", stacklevel=2)
            return
        assert self.exchanges, f"no {self.vendor.name} exchange was validated"
        assert not self.errors, f"{len(self.errors)} exchange(s) break the {self.vendor.name} spec:\n" + \
            "\n".join(self.errors[:20])


def validate_exchange(openapi, response: requests.Response, *, base_url: str, server: str) -> list[str]:
    """Spec violations of one exchange, as readable lines (empty when it conforms)."""
    from openapi_core.contrib.requests import (
        RequestsOpenAPIRequest,
        RequestsOpenAPIResponse,
    )

    request = _as_if_sent_to(response.request, base_url=base_url, server=server)
    label = f"{request.method} {urlsplit(request.url).path} -> {response.status_code}"
    openapi_request = RequestsOpenAPIRequest(request)
    problems = []
    for what, call in (("request", lambda: openapi.validate_request(openapi_request)),
                       ("response", lambda: openapi.validate_response(
                           openapi_request, RequestsOpenAPIResponse(response)))):
        try:
            call()
        except Exception as exc:  # openapi-core raises a family of errors; report them all alike
            problems.append(f"{label}: {what}: {_describe(exc)}")
    return problems


def _as_if_sent_to(request: requests.PreparedRequest, *, base_url: str, server: str) -> requests.PreparedRequest:
    """The sandbox listens on 127.0.0.1:port (maybe under a prefix); the spec knows only the
    vendor's server, so present the request as sent there."""
    copy = request.copy()
    base, sent, target = urlsplit(base_url), urlsplit(request.url), urlsplit(server)
    path = sent.path[len(base.path.rstrip("/")):] if sent.path.startswith(base.path.rstrip("/")) else sent.path
    copy.url = urlunsplit((target.scheme, target.netloc, path, sent.query, ""))
    return copy


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        details = getattr(cause, "schema_errors", None)
        if details:
            parts += [f"  at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                      for e in details[:5]]
        else:
            parts.append(f"  {type(cause).__name__}: {str(cause)[:300]}")
        cause = cause.__cause__
    return "\n".join(parts)
