"""The state machines of DESIGN.md, as names. Order and return states are stored verbatim."""
from __future__ import annotations

# Order: new → payment_verified | on_hold | payment_rejected → reserved | backordered
#        → waved → label_booked → shipped → delivered | exception | cancelled
NEW = "new"
PAYMENT_VERIFIED = "payment_verified"
ON_HOLD = "on_hold"
PAYMENT_REJECTED = "payment_rejected"
RESERVED = "reserved"
BACKORDERED = "backordered"
WAVED = "waved"
LABEL_BOOKED = "label_booked"
SHIPPED = "shipped"
DELIVERED = "delivered"
EXCEPTION = "exception"
CANCELLED = "cancelled"

ORDER_STATES = (NEW, PAYMENT_VERIFIED, ON_HOLD, PAYMENT_REJECTED, RESERVED, BACKORDERED, WAVED,
                LABEL_BOOKED, SHIPPED, DELIVERED, EXCEPTION, CANCELLED)
AWAITING_PAYMENT = (NEW, ON_HOLD)
AWAITING_STOCK = (PAYMENT_VERIFIED, BACKORDERED)
LABELLED = (LABEL_BOOKED, SHIPPED, DELIVERED, EXCEPTION)   # packed and labelled: its units have left the shelf

# Return: requested → label_issued → in_transit → received → inspected → restocked | quarantined
#         → refunded | rejected
RETURN_REQUESTED = "requested"
RETURN_LABEL_ISSUED = "label_issued"
RETURN_IN_TRANSIT = "in_transit"
RETURN_RECEIVED = "received"
RETURN_INSPECTED = "inspected"
RETURN_RESTOCKED = "restocked"
RETURN_QUARANTINED = "quarantined"
RETURN_REFUNDED = "refunded"
RETURN_REJECTED = "rejected"
