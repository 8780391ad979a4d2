"""The world Cumplido runs in, read from YAML into typed, validated objects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Frozen):
    name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str = ""


class Layout(Frozen):
    """A single-block warehouse: parallel aisles, bays along each aisle, levels per bay."""

    aisles: int = Field(gt=0)
    bays: int = Field(gt=0)
    levels: int = Field(gt=0)
    aisle_spacing: float = Field(gt=0)
    bay_width: float = Field(gt=0)
    depot: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Bin:
    """A bin of a layout: derived from the validated layout, never read from the file (a plain
    dataclass: a big warehouse has thousands, and validating each took 0.15 s a run)."""
    location_id: str
    warehouse_id: str
    aisle: int
    bay: int
    level: int
    x: float
    y: float


class Warehouse(Frozen):
    id: str
    name: str
    priority: int
    cutoffs: tuple[time, ...]
    address: Address
    layout: Layout

    @cached_property
    def bins(self) -> tuple[Bin, ...]:
        lay = self.layout
        return tuple(
            Bin(
                location_id=f"{self.id}-A{a:02d}-B{b:02d}-L{lv}",
                warehouse_id=self.id,
                aisle=a,
                bay=b,
                level=lv,
                x=lay.depot[0] + (a - 1) * lay.aisle_spacing,
                y=lay.depot[1] + b * lay.bay_width,
            )
            for a in range(1, lay.aisles + 1)
            for b in range(1, lay.bays + 1)
            for lv in range(1, lay.levels + 1)
        )


class Service(Frozen):
    code: str
    name: str
    transit_days: int = Field(gt=0)
    base_rate: float = Field(gt=0)
    per_kg: float = Field(ge=0)


class Carrier(Frozen):
    code: str
    carrier_id: str
    name: str
    services: tuple[Service, ...]


StorefrontKind = Literal["shopify", "woocommerce", "tiendanube"]
GatewayKind = Literal["stripe", "paypal", "mercadopago"]
CarrierKind = Literal["shipengine", "easypost", "shippo"]


class Channel(Frozen):
    """A store. `credentials` maps a credential name (access_token, consumer_key, ...) to a
    reference: `env:VAR` or `prefect-secret:BLOCK` (see config/secrets.py); a credential not
    listed falls back to the CUMPLIDO_<VENDOR>_<NAME> setting."""

    id: str
    kind: StorefrontKind
    shop_domain: str
    api_base: str | None = None
    credentials: dict[str, str] = Field(default_factory=dict)


class Vendor(Frozen):
    kind: str
    api_base: str | None = None
    credentials: dict[str, str] = Field(default_factory=dict)


class PaymentGateway(Vendor):
    kind: GatewayKind


class CarrierAccount(Vendor):
    kind: CarrierKind


class SlaPromise(Frozen):
    deliver_within_days: int = Field(gt=0)
    max_transit_days: int = Field(gt=0)


class WaveRules(Frozen):
    max_orders: int = Field(gt=0)
    max_lines: int = Field(gt=0)


class Catalog(Frozen):
    skus: int = Field(gt=0)
    seed: int = 0
    scarce_share: float = Field(0.0, ge=0, le=1)


class World(Frozen):
    channels: tuple[Channel, ...] = Field(min_length=1)
    payment_gateway: PaymentGateway
    carrier_account: CarrierAccount
    warehouses: tuple[Warehouse, ...] = Field(min_length=1)
    carriers: tuple[Carrier, ...] = Field(min_length=1)
    default_service: str
    sla: dict[str, SlaPromise]
    waves: WaveRules
    catalog: Catalog

    @model_validator(mode="after")
    def _default_service_exists(self) -> "World":
        if self.default_service not in self.services:
            raise ValueError(f"default_service {self.default_service!r} is not a service of any carrier")
        return self

    @property
    def services(self) -> dict[str, tuple[Carrier, Service]]:
        return {s.code: (c, s) for c in self.carriers for s in c.services}

    def warehouse(self, warehouse_id: str) -> Warehouse:
        return next(w for w in self.warehouses if w.id == warehouse_id)


class WorldError(ValueError):
    """The world file is missing or malformed; the message names the field."""


def load_world(path: Path | str) -> World:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise WorldError(f"cannot read world file {path}: {exc}") from None
    try:
        return World.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise WorldError(f"world file {path} is invalid:\n" + "\n".join(lines)) from None
