"""Errors every connector raises, so tasks can tell transient from permanent failures."""
from __future__ import annotations


class ConnectorError(Exception):
    """Base: carries the vendor name and a message that says what to do."""

    def __init__(self, vendor: str, message: str, *, status: int | None = None):
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status = status
        self.message = message


class TransientApiError(ConnectorError):
    """429, 5xx or a timeout that outlived our own retries: try again on the next run."""


class PermanentApiError(ConnectorError):
    """A 4xx the vendor will answer the same way again: park the record with this message."""


class ApiUnreachable(TransientApiError):
    """No connection at all (DNS, refused, TLS): check the base URL and the network."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientApiError)
