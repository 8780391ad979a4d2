"""StripeGateway against the local Stripe sandbox over real HTTP; contract tests check every
exchange against Stripe's official OpenAPI spec (API 2023-08-16)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from connectors.errors import PermanentApiError, TransientApiError
from connectors.payments.stripe import LISTERS, StripeGateway
from connectors.protocols import PaymentGateway
from connectors.sandbox.faults import Faults
from connectors.sandbox.stripe import SANDBOX_API_KEY, StripeSandbox
from tests.integration.common import NOW
from tests.integration.spec_validation import (
    STRIPE,
    ContractRecorder,
    spec_or_skip,
    validate_exchange,
)

WINDOW_START = NOW - timedelta(days=2)


@pytest.fixture
def sandbox(clock, switchboard) -> StripeSandbox:
    sandbox = StripeSandbox(clock=clock, seed=11)
    switchboard[1]["app"] = sandbox.wsgi_app
    return sandbox


@pytest.fixture
def url(sandbox, switchboard) -> str:
    return switchboard[0]


@pytest.fixture
def gateway(url, sleeps):
    gateway = StripeGateway(api_base=url, api_key=SANDBOX_API_KEY, sleep=sleeps.append)
    yield gateway
    gateway.close()


@pytest.fixture
def contract(url, gateway):
    """Every exchange of the test is validated against the spec; violations fail the test."""
    recorder = ContractRecorder(STRIPE, url).attach(gateway.session)
    yield recorder
    recorder.assert_clean()


def paid(sandbox, cents=2500, *, outcome="succeeded", currency="usd", created=NOW - timedelta(hours=3),
         settle_at=None) -> str:
    return sandbox.create_payment_intent(amount_cents=cents, currency=currency, outcome=outcome,
                                         created_at=created, settle_at=settle_at, metadata={"order": "1001"})


def test_gateway_implements_the_payment_gateway_protocol(gateway):
    assert isinstance(gateway, PaymentGateway)


def test_payment_statuses_map_to_succeeded_pending_and_failed(sandbox, gateway, contract):
    ok, waiting, declined = paid(sandbox), paid(sandbox, outcome="processing"), paid(sandbox, outcome="failed")

    payments = {p.payment_ref: p for p in gateway.fetch_payments([ok, waiting, declined], created_since=WINDOW_START)}

    assert {ref: p.status for ref, p in payments.items()} == {ok: "succeeded", waiting: "pending", declined: "failed"}
    assert payments[declined].raw["last_payment_error"]["code"] == "card_declined"


def test_processing_payment_settles_once_the_clock_reaches_settle_at(sandbox, gateway, clock, contract):
    ref = paid(sandbox, outcome="processing", settle_at=NOW + timedelta(days=2))

    before = gateway.fetch_payments([ref], created_since=WINDOW_START)[0]
    clock.advance(timedelta(days=2))
    after = gateway.fetch_payments([ref], created_since=WINDOW_START)[0]

    assert (before.status, after.status) == ("pending", "succeeded")
    assert after.amount == 25.00


def test_amounts_are_in_major_units_and_zero_decimal_currencies_are_not_divided(sandbox, gateway, contract):
    dollars, yen = paid(sandbox, 12345), paid(sandbox, 5000, currency="jpy")

    payments = {p.payment_ref: p for p in gateway.fetch_payments([dollars, yen], created_since=WINDOW_START)}

    assert (payments[dollars].amount, payments[dollars].currency) == (123.45, "USD")
    assert (payments[yen].amount, payments[yen].currency) == (5000.0, "JPY")


def test_pending_and_failed_payments_report_the_amount_asked_for(sandbox, gateway, contract):
    pending = paid(sandbox, 4999, outcome="processing")

    assert gateway.fetch_payments([pending], created_since=WINDOW_START)[0].amount == 49.99


def test_fetch_pages_through_the_window_and_reads_older_refs_one_by_one(sandbox, gateway, contract):
    in_window = [paid(sandbox, 1000 + i, created=NOW - timedelta(minutes=i)) for i in range(230)]
    older = paid(sandbox, created=NOW - timedelta(days=30))

    payments = gateway.fetch_payments([*in_window, older, "pi_unknown"], created_since=WINDOW_START)

    assert [p.payment_ref for p in payments] == [*in_window, older]
    lists = [op for op in contract.operations if op.startswith("GET /v1/payment_intents ")]
    assert lists and contract.exchanges == 3 + 2  # three list pages, then the old ref and the unknown one


def test_a_bounded_window_is_listed_in_slices_and_misses_nothing(sandbox, gateway, contract):
    refs = [paid(sandbox, 1000 + i, created=NOW - timedelta(minutes=7 * i)) for i in range(300)]
    edges = [paid(sandbox, created=NOW - timedelta(hours=40)), paid(sandbox, created=NOW)]   # the window's ends

    payments = gateway.fetch_payments([*refs, *edges], created_since=NOW - timedelta(hours=40), created_until=NOW)

    assert [p.payment_ref for p in payments] == [*refs, *edges]
    assert contract.operations == {"GET /v1/payment_intents -> 200"}   # every ref came from a listing
    assert contract.exchanges == LISTERS                                # a page per slice, none read alone


def test_refs_scattered_in_time_are_read_one_by_one_without_listing(sandbox, gateway, contract):
    refs = [paid(sandbox, created=NOW - timedelta(days=d)) for d in (1, 9, 20)]

    payments = gateway.fetch_payments([*refs, "pi_unknown"], created_since=None)

    assert [p.payment_ref for p in payments] == refs
    assert contract.exchanges == 4 and not [op for op in contract.operations if "payment_intents " in op]


def test_refund_retried_with_the_same_key_refunds_once(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)

    first = gateway.refund(payment_ref=ref, amount=20.00, currency="USD", idempotency_key="return-77")
    again = gateway.refund(payment_ref=ref, amount=20.00, currency="USD", idempotency_key="return-77")

    assert first.gateway_refund_id == again.gateway_refund_id
    assert (first.status, first.amount) == ("succeeded", 20.00)
    truth = sandbox.refunds_for(ref)
    assert [(r["amount"], r["metadata"]) for r in truth] == [(2000, {"cumplido_key": "return-77"})]


def test_refund_over_the_remaining_amount_is_a_clear_permanent_error(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    gateway.refund(payment_ref=ref, amount=30.00, currency="USD", idempotency_key="return-1")

    with pytest.raises(PermanentApiError) as raised:
        gateway.refund(payment_ref=ref, amount=30.00, currency="USD", idempotency_key="return-2")

    assert raised.value.status == 400
    assert "greater than unrefunded amount on charge ($20.00)" in raised.value.message
    assert "amount_too_large" in raised.value.message
    assert len(sandbox.refunds_for(ref)) == 1


def test_refunding_a_fully_refunded_payment_says_it_was_already_refunded(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    gateway.refund(payment_ref=ref, amount=50.00, currency="USD", idempotency_key="return-1")

    with pytest.raises(PermanentApiError, match="charge_already_refunded"):
        gateway.refund(payment_ref=ref, amount=1.00, currency="USD", idempotency_key="return-2")


def test_reusing_a_key_for_another_amount_is_refused_without_refunding(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    gateway.refund(payment_ref=ref, amount=10.00, currency="USD", idempotency_key="return-9")

    with pytest.raises(PermanentApiError, match="same parameters they were first used with"):
        gateway.refund(payment_ref=ref, amount=11.00, currency="USD", idempotency_key="return-9")

    assert sum(r["amount"] for r in sandbox.refunds_for(ref)) == 1000


def test_check_reports_mode_and_balance(sandbox, url, gateway, contract):
    paid(sandbox, 1234)

    assert gateway.check() == f"stripe: test mode at {url}; available balance 12.34 USD"


def test_a_wrong_api_key_is_permanent_and_the_key_stays_masked(url):
    gateway = StripeGateway(api_base=url, api_key="sk_test_wrongwrongwrong1234")

    with pytest.raises(PermanentApiError) as raised:
        gateway.check()

    assert raised.value.status == 401
    assert "Invalid API Key provided: sk_test_****1234" in raised.value.message
    assert "wrongwrong" not in str(raised.value)


def test_the_sandbox_accepts_the_key_as_basic_auth_user_and_lists_newest_first(sandbox, url):
    older, newer = paid(sandbox, created=NOW - timedelta(hours=5)), paid(sandbox, created=NOW - timedelta(hours=1))
    paid(sandbox, created=NOW + timedelta(hours=1))  # not created yet as far as the clock knows
    session = requests.Session()
    recorder = ContractRecorder(STRIPE, url).attach(session)

    response = session.get(f"{url}/v1/payment_intents", auth=(SANDBOX_API_KEY, ""),
                           params={"created[lt]": int(NOW.timestamp())})

    assert [pi["id"] for pi in response.json()["data"]] == [newer, older]
    recorder.assert_clean()


def test_refunds_read_back_by_id_and_by_payment_intent(sandbox, url, gateway):
    ref = paid(sandbox, 5000)
    refund = gateway.refund(payment_ref=ref, amount=5.00, currency="USD", idempotency_key="return-3")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {SANDBOX_API_KEY}"
    recorder = ContractRecorder(STRIPE, url).attach(session)

    by_id = session.get(f"{url}/v1/refunds/{refund.gateway_refund_id}").json()
    listed = session.get(f"{url}/v1/refunds", params={"payment_intent": ref}).json()
    missing = session.get(f"{url}/v1/refunds/re_missing")

    assert by_id == refund.raw and [r["id"] for r in listed["data"]] == [refund.gateway_refund_id]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    recorder.assert_clean()


def test_the_contract_check_catches_what_the_spec_does_not_allow(url):
    response = requests.Response()
    response.status_code, response.headers["Content-Type"] = 200, "application/json"
    response._content = json.dumps({"object": "list", "data": [{"id": "pi_1"}], "has_more": False,
                                    "url": "/v1/payment_intents"}).encode()
    response.request = requests.Request("GET", f"{url}/v1/payment_intents",
                                        headers={"Authorization": "Bearer sk_test_x"}).prepare()

    problems = validate_exchange(spec_or_skip(STRIPE), response, base_url=url, server=STRIPE.server)

    assert problems and "'amount' is a required property" in problems[0]


def test_paginated_fetch_under_throttling_errors_and_a_cut_body_returns_each_payment_once(
        clock, switchboard, sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=1, retry_after="0", seed=3)
    sandbox = StripeSandbox(clock=clock, seed=11, faults=faults)
    url, switchboard[1]["app"] = switchboard[0], sandbox.wsgi_app
    refs = [paid(sandbox, 100 + i, created=NOW - timedelta(minutes=i)) for i in range(1450)]
    gateway = StripeGateway(api_base=url, api_key=SANDBOX_API_KEY, max_retries=8, sleep=sleeps.append)

    payments = gateway.fetch_payments(refs, created_since=WINDOW_START)

    assert sorted(p.payment_ref for p in payments) == sorted(refs)
    assert faults.injected["truncated"] == 1 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert len(sleeps) == faults.injected["429"] + faults.injected["5xx"]  # one recorded back-off per fault


def test_a_refund_whose_answer_was_cut_short_is_not_repeated_when_retried(sandbox, gateway):
    ref = paid(sandbox, 5000)
    sandbox.faults.truncate_next = 1

    with pytest.raises(TransientApiError):
        gateway.refund(payment_ref=ref, amount=15.00, currency="USD", idempotency_key="return-5")
    refund = gateway.refund(payment_ref=ref, amount=15.00, currency="USD", idempotency_key="return-5")

    assert [r["id"] for r in sandbox.refunds_for(ref)] == [refund.gateway_refund_id]
