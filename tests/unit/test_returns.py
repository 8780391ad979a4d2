"""Reverse logistics: damaged goods are quarantined, good ones restocked, both refunded."""
from __future__ import annotations

import pandas as pd

from domain.returns import inspect_return_lines, refund_amounts


def return_lines(*rows) -> pd.DataFrame:
    """(return_id, line_no, sku, quantity, reason, unit_price) rows."""
    return pd.DataFrame(rows, columns=["return_id", "line_no", "sku", "quantity", "reason", "unit_price"])


def test_damaged_items_are_quarantined_and_the_rest_restocked():
    out = inspect_return_lines(return_lines(("r1", 1, "MUG", 1, "DEFECTIVE", 10.0), ("r1", 2, "TEE", 1, "SIZE_TOO_SMALL", 5.0),
                                            ("r2", 1, "CAP", 1, "not_as_described", 7.0)))
    assert out[["condition", "disposition"]].values.tolist() == [
        ["damaged", "quarantined"], ["sellable", "restocked"], ["damaged", "quarantined"]]
    assert out["unit_price"].tolist() == [10.0, 5.0, 7.0]          # other columns pass through


def test_a_return_without_a_reason_is_restocked():
    assert inspect_return_lines(return_lines(("r1", 1, "MUG", 1, None, 10.0)))["disposition"].tolist() == ["restocked"]


def test_damaged_and_sellable_items_are_both_refunded():
    out = refund_amounts(return_lines(("r1", 1, "MUG", 2, "DEFECTIVE", 10.0), ("r1", 2, "TEE", 1, "CHANGED_MIND", 5.5),
                                      ("r2", 1, "CAP", 3, "CHANGED_MIND", 0.1)))
    assert dict(zip(out["return_id"], out["amount"])) == {"r1": 25.5, "r2": 0.3}


def test_nothing_returned_nothing_refunded():
    assert refund_amounts(return_lines()).empty
    assert list(inspect_return_lines(return_lines()).columns)[-2:] == ["condition", "disposition"]


def test_a_return_the_store_refunded_whole_is_never_refunded_again_at_the_gateway():
    from domain.returns import gateway_refunds

    owed = pd.DataFrame({"return_id": ["whole", "part", "none"], "amount": [50.0, 50.0, 50.0]})
    store = pd.DataFrame({"return_id": ["whole", "part"], "store_refunded_amount": [50.0, 20.0]})
    result = gateway_refunds(owed, store).set_index("return_id")
    assert result.loc["whole"].to_dict() == {"amount": 50.0, "in_store": True}
    assert result.loc["part"].to_dict() == {"amount": 30.0, "in_store": False}
    assert result.loc["none"].to_dict() == {"amount": 50.0, "in_store": False}
