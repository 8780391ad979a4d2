"""Prefect flows, one module per deployment, and the `cumplido` CLI (flows/cli.py)."""
