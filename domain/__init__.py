"""Pure business rules of fulfillment. Imports nothing but the standard library, pandas,
numpy and config types (tests/unit/test_domain_purity.py enforces it)."""
