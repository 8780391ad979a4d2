"""Constants the connector tests share: a fixed moment and the parcels' customers."""
from __future__ import annotations

from datetime import datetime, timezone

from domain.records import Address

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
PROGRESS = {"pre_transit": 0, "in_transit": 1, "out_for_delivery": 2, "delivered": 3}
CUSTOMERS = [Address("Ann Lee", "1 Main St", "Austin", "TX", "78701", "US"),
             Address("Bo Diaz", "9 Elm Ave", "Albany", "NY", "12207", "US", phone="+1 518 555 0199"),
             Address("Cy Park", "4 Bay Rd", "Seattle", "WA", "98101", "US")]
