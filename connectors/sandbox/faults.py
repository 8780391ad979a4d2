"""Fault knobs every sandbox app shares: 429 storms, 5xx, truncated bodies, slow answers."""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    throttle_share: float = 0.0      # share of requests answered 429 with Retry-After
    error_share: float = 0.0         # share answered 500/502/503
    truncate_next: int = 0           # the next N successful JSON bodies are cut in half
    slow_seconds: float = 0.0        # added latency per request
    retry_after: str = "0"           # the Retry-After value sent with 429 and 503
    seed: int = 0
    injected: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "truncated": 0})

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """Which fault (if any) this request gets."""
        with self._lock:
            roll = self._rng.random()
            if roll < self.throttle_share:
                self.injected["429"] += 1
                return "429"
            if roll < self.throttle_share + self.error_share:
                self.injected["5xx"] += 1
                return "5xx"
            return None

    def take_truncation(self) -> bool:
        with self._lock:
            if self.truncate_next > 0:
                self.truncate_next -= 1
                self.injected["truncated"] += 1
                return True
            return False


def with_faults(app, faults: Faults, *, error_body=lambda status: {"error": {"message": f"sandbox fault {status}"}}):
    """WSGI middleware: answers some requests with a fault instead of calling `app`."""

    def wrapped(environ, start_response):
        if faults.slow_seconds:
            time.sleep(faults.slow_seconds)
        fault = faults.draw()
        if fault:
            status = 429 if fault == "429" else random.choice([500, 502, 503])
            body = json.dumps(error_body(status)).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if status in (429, 503):
                headers.append(("Retry-After", faults.retry_after))
            start_response(f"{status} Fault", headers)
            return [body]
        if not faults.truncate_next:
            return app(environ, start_response)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)

        body = b"".join(app(environ, capture))
        if captured["status"].startswith("2") and faults.take_truncation():
            body = body[: len(body) // 2]
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    return wrapped
