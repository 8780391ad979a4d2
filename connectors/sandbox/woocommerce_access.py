"""What stands between a request and the WooCommerce sandbox's routes: WC_REST_Authentication
(consumer key and secret from the query string first, else HTTP Basic; an unknown key is simply
not logged in, a wrong secret is a 401, a read-only key may not write), the endpoints' own 401s,
a request limiter sending RateLimit-* headers, and the bodies of injected faults."""
from __future__ import annotations

import hmac
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.wrappers import Request

from connectors.sandbox.woocommerce_api import WooError

_VIEW = ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
_LIST = ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
_EDIT = ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
_CREATE = ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
# endpoint -> (refusal when reading, refusal when writing) for a request that is not logged in
DENIED = {"orders": (_LIST, _LIST), "order": (_VIEW, _EDIT), "notes": (_LIST, _CREATE), "products": (_LIST, _LIST),
          "setting": (_LIST, _LIST), "trackings": (_LIST, _CREATE)}
BASIC_REALM = ('Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret '
               'in the password field."')


@dataclass
class ApiKey:
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"      # read | write | read_write, as WooCommerce stores them
    strip_authorization: bool = False    # a server (PHP as CGI) that drops the Authorization header

    def user(self, request: Request) -> str | None:
        """The key's user, or None when no key WooCommerce knows was sent."""
        key, secret, via = request.args.get("consumer_key"), request.args.get("consumer_secret"), "query"
        if not (key and secret):
            auth = None if self.strip_authorization else request.authorization
            basic = auth is not None and auth.type == "basic"
            key, secret, via = (auth.username, auth.password, "basic") if basic else (None, None, "")
        if not key or not secret or key != self.consumer_key:
            return None
        if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.",
                           headers={"WWW-Authenticate": BASIC_REALM} if via == "basic" else {})
        needs = "read" if request.method in ("GET", "HEAD") else "write"
        if needs not in self.permissions:
            raise WooError(401, "woocommerce_rest_authentication_error",
                           f"The API key provided does not have {needs} permissions.")
        return key


def refuse_anonymous(endpoint: str, method: str) -> WooError:
    """The endpoint's permission check for a request that is not logged in (401, as
    rest_authorization_required_code() answers when no user is logged in)."""
    return WooError(401, *DENIED[endpoint][method not in ("GET", "HEAD")])


@dataclass
class RateLimiter:
    """N requests per fixed window, with the headers WooCommerce's Store API limiter sends
    (RateLimit-Limit/-Remaining/-Reset, and RateLimit-Retry-After when refused); hosts put the
    same in front of wc/v3. `monotonic` is the clock; Reset is read as a Unix time."""

    limit: int | None
    window: float
    monotonic: Callable[[], float]
    refused: int = 0
    _state: tuple[float, int] = (0.0, 0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self) -> list[tuple[str, str]]:
        if not self.limit:
            return []
        now = self.monotonic()
        with self._lock:
            start, used = self._state
            if now >= start + self.window:
                start, used = math.floor(now / self.window) * self.window, 0
            self._state = (start, used + 1)
        reset = start + self.window
        headers = [("RateLimit-Limit", str(self.limit)), ("RateLimit-Remaining", str(max(0, self.limit - used - 1))),
                   ("RateLimit-Reset", str(int(reset)))]
        if used < self.limit:
            return headers
        self.refused += 1
        wait = str(max(1, math.ceil(reset - now)))
        raise WooError(429, "rate_limit_exceeded", f"Too many requests. Please wait {wait} seconds before trying "
                       "again.", headers=dict(headers + [("RateLimit-Retry-After", wait), ("Retry-After", wait)]))


def fault_body(status: int) -> dict:
    """What a throttling host, or WordPress's fatal-error handler for REST requests, answers."""
    if status == 429:
        return {"code": "rate_limit_exceeded", "message": "Too many requests. Please wait and try again.",
                "data": {"status": 429}}
    return {"code": "internal_server_error", "message": "<p>There has been a critical error on this website.</p>",
            "data": {"status": status}, "additional_errors": []}
