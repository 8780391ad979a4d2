"""PayPalGateway against the local PayPal sandbox over real HTTP. Contract tests check every
exchange: orders against PayPal's Orders v2 spec, captures and refunds against Payments v2,
and the OAuth2 token (in neither spec) against the shape PayPal documents for it."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests

from connectors.errors import PermanentApiError
from connectors.payments.paypal import PayPalGateway
from connectors.payments.paypal_parse import payment_from_order
from connectors.protocols import PaymentGateway
from connectors.sandbox.faults import Faults
from connectors.sandbox.paypal import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    PayPalSandbox,
)
from tests.integration.common import NOW
from tests.integration.spec_validation import (
    PAYPAL_ORDERS,
    PAYPAL_PAYMENTS,
    ContractRecorder,
    spec_or_skip,
    validate_exchange,
)

# openapi-core cannot check OAuth2 security schemes and warns on every exchange; the sandbox
# itself refuses requests without a live bearer token, and tests below assert that.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

SINCE = NOW - timedelta(days=2)
# The token answer as PayPal documents it (developer.paypal.com/api/rest/authentication/, sample
# response) and as SDKs deserialise it (paypal-rs `AccessToken`: scope, access_token, token_type,
# app_id, expires_in, nonce); errors use OAuth's {error, error_description} (RFC 6749 §5.2).
TOKEN_SCHEMA = {"type": "object", "required": ["scope", "access_token", "token_type", "app_id", "expires_in", "nonce"],
                "properties": {"scope": {"type": "string"}, "access_token": {"type": "string", "minLength": 20},
                               "token_type": {"const": "Bearer"}, "app_id": {"type": "string", "pattern": "^APP-"},
                               "expires_in": {"type": "integer", "minimum": 0}, "nonce": {"type": "string"}}}
OAUTH_ERROR_SCHEMA = {"type": "object", "required": ["error", "error_description"],
                      "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}}


class PayPalContract:
    """Sends each exchange to the document that specifies it; `assert_clean` fails on any
    violation (the spec recorders warn and skip when ../shared/specs is absent)."""

    def __init__(self, base_url: str):
        self.orders = ContractRecorder(PAYPAL_ORDERS, base_url)
        self.payments = ContractRecorder(PAYPAL_PAYMENTS, base_url)
        self.token_exchanges = 0
        self.errors: list[str] = []

    def attach(self, session: requests.Session) -> "PayPalContract":
        session.hooks["response"].append(self.hook)
        return self

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        path = urlsplit(response.request.url).path
        if path.startswith("/v2/checkout/"):
            self.orders.hook(response)
        elif path.startswith("/v2/payments/"):
            self.payments.hook(response)
        elif path == "/v1/oauth2/token":
            self._check_token(response)
        else:
            self.errors.append(f"{response.request.method} {path}: in no PayPal document")
        return response

    def _check_token(self, response: requests.Response) -> None:
        self.token_exchanges += 1
        request = response.request
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if form.get("grant_type") != ["client_credentials"] or \
                not request.headers.get("Authorization", "").startswith("Basic "):
            self.errors.append(f"token request is not a client-credentials grant with Basic auth: {form}")
        schema = TOKEN_SCHEMA if response.status_code == 200 else OAUTH_ERROR_SCHEMA
        try:
            jsonschema.validate(response.json(), schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            self.errors.append(f"POST /v1/oauth2/token -> {response.status_code}: {str(exc)[:300]}")

    @property
    def operations(self) -> set[str]:
        return self.orders.operations | self.payments.operations

    def assert_clean(self) -> None:
        assert not self.errors, "\n".join(self.errors)
        assert self.orders.exchanges + self.payments.exchanges, "no PayPal API exchange was validated"
        for recorder in (self.orders, self.payments):
            if recorder.exchanges:
                recorder.assert_clean()


@pytest.fixture
def sandbox(clock, switchboard) -> PayPalSandbox:
    sandbox = PayPalSandbox(clock=clock, seed=11)
    switchboard[1]["app"] = sandbox.wsgi_app
    return sandbox


@pytest.fixture
def url(sandbox, switchboard) -> str:
    return switchboard[0]


@pytest.fixture
def gateway(url, sleeps):
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                            sleep=sleeps.append)
    yield gateway
    gateway.close()


@pytest.fixture
def contract(url, gateway):
    recorder = PayPalContract(url).attach(gateway.session)
    yield recorder
    recorder.assert_clean()


def paid(sandbox, cents=2500, *, outcome="succeeded", variant=None, currency="USD",
         created=NOW - timedelta(hours=3), settle_at=None) -> str:
    return sandbox.create_payment_intent(amount_cents=cents, currency=currency, outcome=outcome, variant=variant,
                                         created_at=created, settle_at=settle_at, metadata={"order": "1001"})


def bearer_session(url: str) -> requests.Session:
    """A bare client, for the sandbox endpoints the gateway does not call."""
    session = requests.Session()
    token = session.post(f"{url}/v1/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_gateway_implements_the_payment_gateway_protocol(gateway):
    assert isinstance(gateway, PaymentGateway)


def test_captured_orders_succeed_uncleared_or_unapproved_ones_wait_and_declined_or_voided_ones_fail(
        sandbox, gateway, contract):
    refs = {paid(sandbox): "succeeded",
            paid(sandbox, outcome="processing", variant="pending_capture"): "pending",
            paid(sandbox, outcome="processing", variant="approved"): "pending",
            paid(sandbox, outcome="failed", variant="declined"): "failed",
            paid(sandbox, outcome="failed", variant="voided"): "failed"}

    payments = {p.payment_ref: p for p in gateway.fetch_payments(list(refs), created_since=SINCE)}

    assert {ref: p.status for ref, p in payments.items()} == refs
    raw = [p.raw for p in payments.values()]
    assert [o["status"] for o in raw] == ["COMPLETED", "COMPLETED", "APPROVED", "COMPLETED", "VOIDED"]
    declined = raw[3]["purchase_units"][0]["payments"]["captures"][0]
    assert (declined["status"], declined["processor_response"]["response_code"]) == ("DECLINED", "5120")


def test_authorized_orders_wait_for_capture_denied_ones_fail_and_a_later_capture_counts():
    def order(status, **payments):
        return {"id": "5O190127TN364715T", "status": status, "purchase_units": [
            {"amount": {"currency_code": "USD", "value": "30.00"}, "payments": payments}]}
    captured = {"status": "COMPLETED", "amount": {"currency_code": "USD", "value": "30.00"}}

    authorized = payment_from_order(order("COMPLETED", authorizations=[{"status": "CREATED"}]))
    denied = payment_from_order(order("COMPLETED", authorizations=[{"status": "DENIED"}]))
    retried = payment_from_order(order("COMPLETED", captures=[{"status": "DECLINED"}, captured]))

    assert (authorized.status, authorized.amount) == ("pending", 30.00)
    assert denied.status == "failed"
    assert (retried.status, retried.amount) == ("succeeded", 30.00)


def test_uncleared_and_unapproved_payments_complete_once_the_clock_reaches_settle_at(sandbox, gateway, clock, contract):
    echeck = paid(sandbox, outcome="processing", variant="pending_capture", settle_at=NOW + timedelta(days=2))
    approval = paid(sandbox, outcome="processing", variant="approved", settle_at=NOW + timedelta(days=2))

    before = gateway.fetch_payments([echeck, approval], created_since=SINCE)
    clock.advance(timedelta(days=2))
    after = gateway.fetch_payments([echeck, approval], created_since=SINCE)

    assert [p.status for p in before] == ["pending", "pending"]
    assert [(p.status, p.amount) for p in after] == [("succeeded", 25.00), ("succeeded", 25.00)]


def test_amounts_are_the_captured_amount_in_major_units_and_yen_has_no_decimals(sandbox, gateway, contract):
    dollars, yen = paid(sandbox, 12345), paid(sandbox, 5000, currency="JPY")

    payments = {p.payment_ref: p for p in gateway.fetch_payments([dollars, yen], created_since=SINCE)}

    assert (payments[dollars].amount, payments[dollars].currency) == (123.45, "USD")
    assert (payments[yen].amount, payments[yen].currency) == (5000.0, "JPY")
    assert payments[yen].raw["purchase_units"][0]["payments"]["captures"][0]["amount"]["value"] == "5000"


def test_unknown_orders_and_orders_not_yet_placed_are_simply_absent(sandbox, gateway, contract):
    known = paid(sandbox)
    future = paid(sandbox, created=NOW + timedelta(hours=1))

    payments = gateway.fetch_payments([known, "5O190127TN364715T", future, known], created_since=SINCE)

    assert [p.payment_ref for p in payments] == [known]
    assert "GET /v2/checkout/orders/5O190127TN364715T -> 404" in contract.operations


def test_one_token_serves_every_call_until_shortly_before_it_expires(sandbox, url, sleeps):
    seconds = [0.0]
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                            sleep=sleeps.append, monotonic=lambda: seconds[0])
    ref = paid(sandbox)

    gateway.fetch_payments([ref], created_since=SINCE)
    seconds[0] = 32400 - 301.0   # still more than five minutes to go
    gateway.fetch_payments([ref], created_since=SINCE)
    assert gateway.token_requests == 1
    seconds[0] = 32400 - 299.0   # renewed before PayPal would refuse it
    gateway.fetch_payments([ref], created_since=SINCE)
    assert gateway.token_requests == 2


def test_a_token_paypal_no_longer_honours_is_replaced_once_and_the_read_goes_on(sandbox, gateway, clock, contract):
    ref = paid(sandbox)
    gateway.fetch_payments([ref], created_since=SINCE)
    clock.advance(timedelta(hours=10))   # past the token's nine hours; our own timer has not moved

    payments = gateway.fetch_payments([ref], created_since=SINCE)

    assert [p.status for p in payments] == ["succeeded"] and gateway.token_requests == 2
    assert f"GET /v2/checkout/orders/{ref} -> 401" in contract.operations


def test_a_token_refused_twice_is_a_permanent_error_not_a_loop(clock, switchboard, sleeps):
    sandbox = PayPalSandbox(clock=clock, seed=11, token_lifetime=timedelta(0))   # every token born dead
    url, switchboard[1]["app"] = switchboard[0], sandbox.wsgi_app
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                            sleep=sleeps.append)

    with pytest.raises(PermanentApiError) as raised:
        gateway.fetch_payments([paid(sandbox)], created_since=SINCE)

    assert raised.value.status == 401 and "invalid_token" in raised.value.message
    assert gateway.token_requests == 2


def test_refund_retried_with_the_same_request_id_refunds_once(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    sent = []
    gateway.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))

    first = gateway.refund(payment_ref=ref, amount=20.00, currency="USD", idempotency_key="cmp-refund-77")
    again = gateway.refund(payment_ref=ref, amount=20.00, currency="USD", idempotency_key="cmp-refund-77")

    assert first.gateway_refund_id == again.gateway_refund_id
    assert (first.status, first.amount) == ("succeeded", 20.00)
    assert [(r["amount"]["value"], r["custom_id"]) for r in sandbox.refunds_for(ref)] == [("20.00", "cmp-refund-77")]
    posted = next(r for r in sent if r.method == "POST" and r.path_url.endswith("/refund"))
    assert posted.headers["PayPal-Request-Id"] == "cmp-refund-77"
    assert json.loads(posted.body)["amount"] == {"value": "20.00", "currency_code": "USD"}


def test_refund_over_the_remaining_amount_is_a_clear_permanent_error(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    gateway.refund(payment_ref=ref, amount=30.00, currency="USD", idempotency_key="cmp-refund-1")

    with pytest.raises(PermanentApiError) as raised:
        gateway.refund(payment_ref=ref, amount=30.00, currency="USD", idempotency_key="cmp-refund-2")

    assert raised.value.status == 422
    assert "REFUND_AMOUNT_EXCEEDED" in raised.value.message
    assert "refund at most the captured amount minus earlier refunds" in raised.value.message
    assert "debug_id" in raised.value.message
    assert len(sandbox.refunds_for(ref)) == 1


def test_refunding_a_fully_refunded_payment_says_the_capture_is_fully_refunded(sandbox, gateway, contract):
    ref = paid(sandbox, 5000)
    gateway.refund(payment_ref=ref, amount=50.00, currency="USD", idempotency_key="cmp-refund-1")

    with pytest.raises(PermanentApiError, match="CAPTURE_FULLY_REFUNDED: The capture has already been fully refunded"):
        gateway.refund(payment_ref=ref, amount=1.00, currency="USD", idempotency_key="cmp-refund-2")

    assert sandbox.order(ref)["purchase_units"][0]["payments"]["captures"][0]["status"] == "REFUNDED"


def test_a_payment_that_never_completed_is_not_refunded(sandbox, gateway, contract):
    refs = [paid(sandbox, outcome="processing", variant="pending_capture"),
            paid(sandbox, outcome="failed", variant="voided")]

    for ref in refs:
        with pytest.raises(PermanentApiError, match="no completed capture to refund"):
            gateway.refund(payment_ref=ref, amount=5.00, currency="USD", idempotency_key=f"cmp-refund-{ref}")

    assert all(sandbox.refunds_for(ref) == [] for ref in refs)


def test_a_refund_of_an_echeck_payment_is_pending_until_it_clears_and_a_repeat_shows_its_latest_status(
        sandbox, gateway, clock, contract):
    ref = paid(sandbox, 5000, outcome="processing", variant="pending_capture", settle_at=NOW)

    pending = gateway.refund(payment_ref=ref, amount=10.00, currency="USD", idempotency_key="cmp-refund-8")
    clock.advance(timedelta(days=3))
    cleared = gateway.refund(payment_ref=ref, amount=10.00, currency="USD", idempotency_key="cmp-refund-8")

    assert (pending.status, pending.raw["status_details"]) == ("pending", {"reason": "ECHECK"})
    assert (cleared.gateway_refund_id, cleared.status) == (pending.gateway_refund_id, "succeeded")
    assert len(sandbox.refunds_for(ref)) == 1


def test_check_names_the_app_and_how_long_the_token_lasts(sandbox, url, gateway, contract):
    gateway.fetch_payments([paid(sandbox)], created_since=SINCE)   # something for the spec check to see

    assert gateway.check() == f"paypal: token for {sandbox.app_id} at {url}, valid 9h00m, 6 scopes"


def test_wrong_client_credentials_are_permanent_and_the_secret_never_shows(url):
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret="EFw-not-the-secret-9x")

    with pytest.raises(PermanentApiError) as raised:
        gateway.check()

    assert raised.value.status == 401
    assert "invalid_client: Client Authentication failed" in raised.value.message
    assert "CUMPLIDO_PAYPAL_CLIENT_SECRET" in raised.value.message
    assert "not-the-secret" not in str(raised.value)


def test_the_sandbox_answers_minimally_unless_asked_and_shows_captures_and_refunds_by_id(sandbox, url, gateway):
    ref = paid(sandbox, 5000)
    session = bearer_session(url)
    recorder = PayPalContract(url).attach(session)
    order = session.get(f"{url}/v2/checkout/orders/{ref}").json()
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]

    minimal = session.post(f"{url}/v2/payments/captures/{capture_id}/refund", json={},
                           headers={"PayPal-Request-Id": "cmp-refund-full"})
    capture = session.get(f"{url}/v2/payments/captures/{capture_id}").json()
    refund = session.get(f"{url}/v2/payments/refunds/{minimal.json()['id']}").json()
    unknown = session.get(f"{url}/v2/payments/refunds/1JU08902781691411")

    assert minimal.status_code == 201 and set(minimal.json()) == {"id", "status", "links"}
    assert (capture["status"], capture["supplementary_data"]["related_ids"]["order_id"]) == ("REFUNDED", ref)
    assert refund["amount"] == {"currency_code": "USD", "value": "50.00"}   # an empty body refunds the rest
    assert unknown.status_code == 404 and unknown.json()["details"][0]["issue"] == "INVALID_RESOURCE_ID"
    assert unknown.headers["Paypal-Debug-Id"] == unknown.json()["debug_id"]
    recorder.assert_clean()


def test_the_sandbox_refuses_a_missing_bearer_token_in_paypals_envelope(sandbox, url):
    response = requests.get(f"{url}/v2/checkout/orders/{paid(sandbox)}")

    assert response.status_code == 401 and response.json()["name"] == "AUTHENTICATION_FAILURE"


def test_the_sandbox_is_the_same_shop_for_the_same_seed(clock):
    def orders(seed: int) -> list[dict]:
        sandbox = PayPalSandbox(clock=clock, seed=seed)
        refs = [paid(sandbox, outcome=o) for o in ("succeeded", "processing", "failed", "processing")]
        return [sandbox.order(r) for r in refs]

    assert orders(5) == orders(5) != orders(6)


def test_the_contract_check_catches_what_the_spec_does_not_allow(url):
    response = requests.Response()
    response.status_code, response.headers["Content-Type"] = 200, "application/json"
    response._content = json.dumps({"id": "5O190127TN364715T", "status": "SHIPPED",
                                    "purchase_units": []}).encode()
    response.request = requests.Request("GET", f"{url}/v2/checkout/orders/5O190127TN364715T",
                                        headers={"Authorization": "Bearer A21AA"}).prepare()

    problems = validate_exchange(spec_or_skip(PAYPAL_ORDERS), response, base_url=url, server=PAYPAL_ORDERS.server)

    assert problems and "'SHIPPED' is not one of" in "\n".join(problems)


def test_reading_orders_under_throttling_errors_and_a_cut_body_returns_each_payment_once(clock, switchboard, sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, truncate_next=1, retry_after="0", seed=3)
    sandbox = PayPalSandbox(clock=clock, seed=11, faults=faults)
    url, switchboard[1]["app"] = switchboard[0], sandbox.wsgi_app
    refs = [paid(sandbox, 100 + i, created=NOW - timedelta(minutes=i)) for i in range(300)]
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                            max_retries=8, sleep=sleeps.append)

    payments = gateway.fetch_payments(refs, created_since=SINCE)

    assert [p.payment_ref for p in payments] == refs
    assert [round(p.amount * 100) for p in payments] == [100 + i for i in range(300)]
    assert faults.injected["truncated"] == 1 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert len(sleeps) == faults.injected["429"] + faults.injected["5xx"]  # one recorded back-off per fault


def test_refunds_under_faults_and_cut_answers_happen_exactly_once_even_when_the_run_repeats(
        clock, switchboard, sleeps):
    faults = Faults(throttle_share=0.1, error_share=0.1, retry_after="0", seed=5)
    sandbox = PayPalSandbox(clock=clock, seed=11, faults=faults)
    to_cut = {f"cmp-refund-{i}" for i in range(0, 40, 10)}   # the refund is made, its answer lost half-way
    posts: list[str] = []

    def cut_some_refund_answers(environ, start_response):
        key = environ.get("HTTP_PAYPAL_REQUEST_ID")
        if key:
            posts.append(key)
        if key in to_cut:
            to_cut.discard(key)
            faults.truncate_next = 1
        return sandbox.wsgi_app(environ, start_response)

    url, switchboard[1]["app"] = switchboard[0], cut_some_refund_answers
    refs = [paid(sandbox, 4000 + i) for i in range(40)]
    gateway = PayPalGateway(api_base=url, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                            max_retries=8, sleep=sleeps.append)

    for _run in range(2):   # a crashed run is re-run with the same keys
        for i, ref in enumerate(refs):
            refund = gateway.refund(payment_ref=ref, amount=15.00, currency="USD", idempotency_key=f"cmp-refund-{i}")
            assert (refund.status, refund.amount) == ("succeeded", 15.00)

    truth = [sandbox.refunds_for(ref) for ref in refs]
    assert [[r["amount"]["value"] for r in refunds] for refunds in truth] == [["15.00"]] * len(refs)
    assert faults.injected["truncated"] == 4 and faults.injected["429"] > 0 and faults.injected["5xx"] > 0
    assert posts.count("cmp-refund-10") >= 3   # cut, re-sent at once, and again by the second run
