"""The HTTP layer every connector shares: one session, timeouts, bounded retries on
429/5xx/timeouts honouring Retry-After (backoff with jitter), and clear errors otherwise."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests

from connectors.errors import ApiUnreachable, PermanentApiError, TransientApiError

log = logging.getLogger(__name__)
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def default_error_message(response: requests.Response) -> str:
    """Best effort at the vendor's own words; connectors pass a parser for their envelope."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors"):
            if key in body:
                return str(body[key])[:300]
    return str(body)[:300]


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


# Connections kept open per host: as many as a run's threads call one vendor at once (two payment
# rounds of eight readers each, eight carrier quotes); past it, urllib3 drops them and warns.
POOL_SIZE = 32


class ApiClient:
    """A vendor's base URL plus auth; `request` returns a successful response or raises."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: float = 20.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        error_message: Callable[[requests.Response], str] = default_error_message,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.error_message = error_message
        self.sleep = sleep
        self.session = requests.Session()
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE))
        self.session.headers.update({"User-Agent": "cumplido/0.1 (+https://github.com/cumplido)"})
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.retries = 0  # counted for tests and the bench

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def _wait(self, attempt: int, response: requests.Response | None) -> None:
        hinted = retry_after_seconds(response) if response is not None else None
        delay = hinted if hinted is not None else min(self.max_backoff, self.backoff * 2 ** attempt)
        self.retries += 1
        self.sleep(delay + random.uniform(0, delay * 0.25))

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.get("json") is not None:    # encoded by orjson: requests' json encoder took longer than the call
            kwargs["data"] = orjson.dumps(kwargs.pop("json"))
            kwargs["headers"] = {"Content-Type": "application/json", **(kwargs.get("headers") or {})}
        url = self.url(path)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.ConnectionError as exc:
                if last:
                    raise ApiUnreachable(self.vendor, f"cannot reach {self.base_url} ({type(exc).__name__}); "
                                         "check the API base URL and that the service is up") from None
                self._wait(attempt, None)
                continue
            except requests.Timeout:
                if last:
                    raise TransientApiError(self.vendor, f"{method} {path} timed out after {self.timeout}s "
                                            f"({self.max_retries + 1} attempts)") from None
                self._wait(attempt, None)
                continue
            if response.status_code < 400:
                return response
            message = self.error_message(response)
            if response.status_code in RETRYABLE_STATUS:
                if last:
                    raise TransientApiError(self.vendor, f"{method} {path} answered {response.status_code} "
                                            f"after {attempt + 1} attempts: {message}", status=response.status_code)
                log.debug("%s %s -> %s, retrying", method, path, response.status_code)
                self._wait(attempt, response)
                continue
            raise PermanentApiError(self.vendor, f"{method} {path} answered {response.status_code}: {message}",
                                    status=response.status_code)
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode JSON. A GET whose body arrives cut short is read again (reading
        is idempotent); any other truncated or non-JSON body is a transient error for the caller,
        who knows whether repeating the request is safe."""
        attempts = self.max_retries + 1 if method.upper() == "GET" else 1
        for _ in range(attempts):
            response = self.request(method, path, **kwargs)
            try:
                return orjson.loads(response.content)   # several times faster than json on big pages
            except ValueError:
                self.retries += 1
        raise TransientApiError(self.vendor, f"{method} {path} returned a body that is not valid JSON "
                                f"({len(response.content)} bytes, {attempts} attempts); the next run will retry")

    def json_or_none(self, path: str, **kwargs: Any) -> Any:
        """GET `path` decoded, or None when the API answers 404: nothing there by that name."""
        try:
            return self.json("GET", path, **kwargs)
        except PermanentApiError as exc:
            if exc.status == 404:
                return None
            raise

    def close(self) -> None:
        self.session.close()
