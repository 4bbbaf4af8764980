"""The provider's notifications: HMAC-SHA256 over the raw body, deduplicated by event id;
a bad signature, an unknown payment or a wrong amount is refused and logged, and nothing
changes; a stale state arriving late never moves a payment back."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment, PaymentEvent, WebhookEvent
from payments.signing import sign, signature_valid
from payments.tests.support import SECRET, payment_item, submit_paying
from workflows.models import WorkItem
from workflows.tests.progress_support import item

pytestmark = pytest.mark.django_db
URL = "/payments/webhooks/simulator/"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.PAYMENT_WEBHOOK_SECRET = SECRET


@pytest.fixture
def payment(alice, django_capture_on_commit_callbacks) -> Payment:
    """A payment in flight, as if the provider had made it (no provider needed to receive)."""
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    step = payment_item(application)
    return Payment.objects.create(
        reference="PAY-TEST",
        application=application,
        work_item=step,
        department=step.department,
        payer=alice,
        amount_fen=12050,
        description="test",
        provider="simulator",
        provider_id="sim_abc",
        idempotency_key="k",
        state=Payment.State.STARTED,
        expires_at=timezone.now() + datetime.timedelta(minutes=90),
    )


def body(**overrides) -> bytes:
    event = {"event_id": "evt_1", "payment_id": "sim_abc", "reference": "PAY-TEST", "state": "success", "amount": 12050}
    return json.dumps({**event, **overrides}).encode()


def post(client, raw: bytes, signature: str | None = None):
    return client.post(
        URL, data=raw, content_type="application/json", headers={"Pay-Signature": signature or sign(raw, SECRET)}
    )


def test_the_signature_is_hmac_sha256_of_the_raw_body():
    raw = b'{"a":1}'
    assert signature_valid(raw, sign(raw, "s"), "s")
    assert not signature_valid(raw, sign(raw, "other"), "s")
    assert not signature_valid(b'{"a": 1}', sign(raw, "s"), "s")  # same JSON, other bytes
    assert not signature_valid(raw, "", "s") and not signature_valid(raw, sign(raw, ""), "")


def test_a_valid_notification_pays_and_the_route_goes_on(client, payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body())
    assert response.status_code == 200 and response.json() == {"accepted": True, "duplicate": False}
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCESS
    assert payment_item(payment.application).status == WorkItem.Status.DONE
    assert item(payment.application, "licence").status == WorkItem.Status.OPEN


def test_the_same_event_twice_changes_nothing_the_second_time(client, payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, body())
    with django_capture_on_commit_callbacks(execute=True) as second:
        response = post(client, body())
    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert second == []  # no work sent for a duplicate
    assert WebhookEvent.objects.count() == 1
    assert payment.events.filter(to_state="success").count() == 1


def test_a_stale_state_arriving_late_never_moves_a_payment_back(client, payment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, body())
        post(client, body(event_id="evt_0", state="started"))
        post(client, body(event_id="evt_2", state="failed"))
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCESS
    assert WebhookEvent.objects.count() == 3


@pytest.mark.parametrize(
    ("raw", "signature", "logged"),
    [
        (body(), "0" * 64, "bad signature"),
        (body(), None, "bad signature"),  # signed, then changed below
        (body(payment_id="sim_unknown"), "", "unknown payment"),
        (body(amount=1), "", "notification says 1 fen"),
        (b"not json", "", "unreadable body"),
    ],
    ids=["wrong-signature", "body-changed-after-signing", "unknown-payment", "wrong-amount", "unreadable"],
)
def test_refused_notifications_change_nothing_and_are_logged(
    client, payment, caplog, django_capture_on_commit_callbacks, raw, signature, logged
):
    if signature is None:
        signature, raw = sign(raw, SECRET), raw.replace(b"12050", b"12051")
    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = post(client, raw, signature or None)
    assert response.status_code == 400
    assert sent == []
    assert WebhookEvent.objects.count() == 0 and PaymentEvent.objects.filter(payment=payment).count() == 0
    payment.refresh_from_db()
    assert payment.state == Payment.State.STARTED
    assert any("webhook from simulator refused" in r.getMessage() and logged in r.getMessage() for r in caplog.records)


def test_an_unknown_provider_and_other_methods_are_refused(client):
    assert client.post("/payments/webhooks/nobody/", data=b"{}", content_type="application/json").status_code == 404
    assert client.get(URL).status_code == 405


def test_the_answer_costs_a_few_queries(client, payment, django_assert_max_num_queries):
    # The work is done by a task after commit: the answer itself only checks and records.
    with django_assert_max_num_queries(8):
        assert post(client, body()).status_code == 200
    assert reverse("payments:webhook", args=["simulator"]) == URL
