"""The shared HTTP layer: what is retried, how long it waits, and what the caller is told."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import responses
from responses.matchers import header_matcher, json_params_matcher

from connectors.errors import ApiUnreachable, PermanentApiError, TransientApiError
from connectors.http import ApiClient
from connectors.sandbox.server import serve

BASE = "https://api.vendor.test"


def client(waits: list[float], **kwargs) -> ApiClient:
    return ApiClient("vendor", BASE, sleep=waits.append, backoff=0.5, **kwargs)


@responses.activate
def test_a_429_waits_what_retry_after_says_then_succeeds():
    responses.get(f"{BASE}/v1/things", status=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    responses.get(f"{BASE}/v1/things", json={"ok": True})
    waits: list[float] = []
    assert client(waits).json("GET", "/v1/things") == {"ok": True}
    assert len(waits) == 1 and 7 <= waits[0] <= 7 * 1.25


@responses.activate
def test_5xx_backs_off_exponentially_and_gives_up_with_a_transient_error():
    responses.get(f"{BASE}/v1/things", status=503, json={"message": "maintenance"})
    waits: list[float] = []
    with pytest.raises(TransientApiError, match="503 after 3 attempts: maintenance"):
        client(waits, max_retries=2).request("GET", "/v1/things")
    assert len(waits) == 2 and 0.5 <= waits[0] <= 0.625 and 1.0 <= waits[1] <= 1.25


@responses.activate
def test_a_4xx_is_never_retried_and_carries_the_vendor_message():
    responses.post(f"{BASE}/v1/labels", status=422, json={"message": "postal code does not match the city"})
    waits: list[float] = []
    with pytest.raises(PermanentApiError, match="422: postal code does not match the city") as caught:
        client(waits).request("POST", "/v1/labels", json={})
    assert waits == [] and caught.value.status == 422


@responses.activate
def test_a_truncated_get_is_read_again_but_a_truncated_post_is_not():
    responses.get(f"{BASE}/v1/things", body='{"data": [1, 2')
    responses.get(f"{BASE}/v1/things", json={"data": [1, 2, 3]})
    responses.post(f"{BASE}/v1/refunds", body='{"id": "re_')
    api = client([])
    assert api.json("GET", "/v1/things") == {"data": [1, 2, 3]}
    with pytest.raises(TransientApiError, match="not valid JSON"):
        api.json("POST", "/v1/refunds")
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


def test_an_unreachable_host_says_which_url_to_check():
    waits: list[float] = []
    api = ApiClient("vendor", "http://127.0.0.1:9", sleep=waits.append, max_retries=1, timeout=2)
    with pytest.raises(ApiUnreachable, match=r"cannot reach http://127.0.0.1:9 .*check the API base URL"):
        api.request("GET", "/v1/things")
    assert len(waits) == 1


@responses.activate
def test_timeouts_are_retried_then_reported():
    responses.get(f"{BASE}/v1/slow", body=requests.Timeout("read timed out"))
    waits: list[float] = []
    with pytest.raises(TransientApiError, match="timed out"):
        client(waits, max_retries=1, timeout=3).request("GET", "/v1/slow")
    assert len(waits) == 1


@responses.activate
def test_a_json_body_is_sent_as_json_with_the_callers_headers():
    body = {"shipment": {"weight": {"value": 1.5, "unit": "kilogram"}}, "ids": ["se-1", "se-2"], "note": "ñandú"}
    responses.post(f"{BASE}/v1/rates", json={"ok": True}, match=[
        json_params_matcher(body), header_matcher({"Content-Type": "application/json", "Idempotency-Key": "k-1"})])
    assert client([]).json("POST", "/v1/rates", json=body, headers={"Idempotency-Key": "k-1"}) == {"ok": True}


def test_a_vendor_called_from_many_threads_at_once_keeps_every_connection(caplog):
    # two payment rounds of eight readers each: sixteen calls in flight on one client
    in_flight = threading.Barrier(16, timeout=10)

    def app(environ, start_response):
        in_flight.wait()                                  # every call is open at the same moment
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    server = serve(app)
    try:
        api = ApiClient("vendor", server.url)
        with caplog.at_level("WARNING", logger="urllib3"), ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: api.json("GET", "/v1/things"), range(16)))
    finally:
        server.stop()
    assert answers == [{"ok": True}] * 16
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
