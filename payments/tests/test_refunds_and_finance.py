"""Refunds quote the amount still refundable, so a double refund is refused (412); finance staff
see their own departments' payments, refunds and reconciliation, and nobody else does."""

import datetime

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from payments import actions
from payments.models import Mismatch, Payment, Refund
from payments.reconciliation import reconcile
from payments.tests.support import payment_item, submit_paying
from tests.conftest import staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_a(department_a):
    return staff_member("finance_a", "Finance A", department_a, Role.FINANCE)


@pytest.fixture
def finance_b(department_b):
    return staff_member("finance_b", "Finance B", department_b, Role.FINANCE)


@pytest.fixture
def paid(client, alice, simulator, django_capture_on_commit_callbacks) -> Payment:
    """Alice's ¥120.50, paid on the simulator (department "market", department A)."""
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    payment, _ = actions.payment_start(
        payer=alice, application_id=application.pk, idempotency_key="k", return_url_for=lambda ref: "http://x/"
    )
    simulator.press(payment.provider_id, "pay")
    with django_capture_on_commit_callbacks(execute=True):
        return actions.payment_refresh(payment=payment, source="return")


def test_partial_then_full_refund_and_a_double_refund_is_refused(
    paid, finance_a, simulator, django_capture_on_commit_callbacks
):
    assert paid.department.code == "market" and paid.refundable_fen == 12050
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.refund_request(payment_id=paid.pk, amount_fen=2050, available_fen=12050, actor=finance_a)
    # The same request again (a double click, a retry): it quotes a figure that is no longer true.
    with pytest.raises(actions.RefundPreconditionFailed) as refused:
        actions.refund_request(payment_id=paid.pk, amount_fen=2050, available_fen=12050, actor=finance_a)
    assert refused.value.status_code == 412 and refused.value.available_fen == 10000
    with pytest.raises(actions.PaymentRefused):
        actions.refund_request(payment_id=paid.pk, amount_fen=10001, available_fen=10000, actor=finance_a)
    with pytest.raises(actions.PaymentRefused):
        actions.refund_request(payment_id=paid.pk, amount_fen=0, available_fen=10000, actor=finance_a)
    with django_capture_on_commit_callbacks(execute=True):
        actions.refund_request(payment_id=paid.pk, amount_fen=10000, available_fen=10000, actor=finance_a)
    paid.refresh_from_db()
    assert paid.refunded_fen == 12050 and paid.refundable_fen == 0
    assert first.__class__.objects.filter(payment=paid, state=Refund.State.SUCCESS).count() == 2
    assert simulator.payment(paid.provider_id)["refunded"] == 12050
    with pytest.raises(actions.PaymentRefused):
        actions.refund_request(payment_id=paid.pk, amount_fen=1, available_fen=0, actor=finance_a)


def test_the_provider_refuses_a_refund_against_a_stale_figure(paid, simulator):
    # Refunded behind our back (at the provider's own console): ours is now stale there.
    simulator.alter(paid.provider_id, refunded=50)
    refund = actions.refund_request(payment_id=paid.pk, amount_fen=100, available_fen=12050, actor=None)
    assert actions.refund_send(refund_id=refund.pk) == Refund.State.ERROR
    paid.refresh_from_db()
    assert paid.refunded_fen == 0  # given back: the refund did not happen


def test_the_refund_api_answers_412_with_the_current_figure(
    client, paid, finance_a, django_capture_on_commit_callbacks
):
    client.force_login(finance_a)
    url = reverse("payments-api:refund-create", args=[paid.reference])
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(url, {"amount_fen": 50, "refund_amount_available": 12050}, content_type="application/json")
    assert made.status_code == 201 and made.json()["amount_fen"] == 50
    again = client.post(url, {"amount_fen": 50, "refund_amount_available": 12050}, content_type="application/json")
    assert again.status_code == 412 and again.json()["refund_amount_available"] == 12000
    too_much = client.post(
        url, {"amount_fen": 12001, "refund_amount_available": 12000}, content_type="application/json"
    )
    assert too_much.status_code == 400


def test_the_refund_form_keeps_what_was_typed_and_refuses_a_stale_figure(client, paid, finance_a):
    client.force_login(finance_a)
    url = reverse("payments:finance-payment", args=[paid.reference])
    page = client.get(url)
    assert page.status_code == 200 and "¥120.50" in page.content.decode()
    bad = client.post(url, {"amount": "twelve", "available_fen": 12050, "note": "Overcharged"})
    assert bad.status_code == 400
    assert "Enter an amount in yuan, like 12.50." in bad.content.decode() and 'value="twelve"' in bad.content.decode()
    assert client.post(url, {"amount": "12.5", "available_fen": 12050, "note": "Overcharged"}).status_code == 302
    assert Refund.objects.get(payment=paid).amount_fen == 1250
    stale = client.post(url, {"amount": "1", "available_fen": 12050, "note": "Again"})
    assert stale.status_code == 412 and "The amount still refundable is now ¥108.00" in stale.content.decode()


def test_finance_staff_see_only_their_departments(client, paid, finance_a, finance_b, clerk_a, alice):
    for user, sees in ((finance_a, True), (finance_b, False)):
        client.force_login(user)
        listing = client.get(reverse("payments:finance-payments")).content.decode()
        assert (paid.reference in listing) is sees
        detail = client.get(reverse("payments:finance-payment", args=[paid.reference]))
        assert detail.status_code == (200 if sees else 404)
        api = client.post(
            reverse("payments-api:refund-create", args=[paid.reference]),
            {"amount_fen": 1, "refund_amount_available": 12050},
            content_type="application/json",
        )
        assert api.status_code == (201 if sees else 404)
    for outsider in (clerk_a, alice):
        client.force_login(outsider)
        for name in ("payments:finance-payments", "payments:finance-refunds", "payments:finance-reconciliation"):
            assert client.get(reverse(name)).status_code == 404


def test_finance_lists_are_paginated_and_have_empty_states(client, finance_b):
    client.force_login(finance_b)
    assert "No payments to show." in client.get(reverse("payments:finance-payments")).content.decode()
    assert "No refunds to show." in client.get(reverse("payments:finance-refunds")).content.decode()
    assert "No differences found." in client.get(reverse("payments:finance-reconciliation")).content.decode()
    assert client.get(reverse("payments:finance-payments"), {"page": "abc", "state": "nonsense"}).status_code == 200


def test_reconciliation_lists_a_deliberate_mismatch_to_finance(client, paid, finance_a, finance_b, simulator):
    day = timezone.localdate(paid.created_at)
    clean = reconcile(day=day)
    assert clean.compared == 1 and clean.mismatches.count() == 0 and not clean.error
    # Behind our back, the provider's books now say another amount and nothing refunded... and
    # it holds a payment we never made.
    simulator.alter(paid.provider_id, amount=12000)
    requests.post(
        f"{simulator.url}/v1/payments",
        json={"amount": 500, "reference": "PAY-NOT-OURS", "return_url": "http://x/"},
        headers={"Idempotency-Key": "stray"},
        timeout=5,
    )
    run = reconcile(day=day)
    kinds = sorted(run.mismatches.values_list("kind", flat=True))
    assert kinds == [Mismatch.Kind.AMOUNT, Mismatch.Kind.MISSING_HERE]
    assert run.mismatches.get(kind=Mismatch.Kind.MISSING_HERE).department_id is None
    mismatch = run.mismatches.get(kind=Mismatch.Kind.AMOUNT)
    assert (mismatch.ours, mismatch.theirs, mismatch.department_id) == ("12050", "12000", paid.department_id)
    client.force_login(finance_a)
    page = client.get(reverse("payments:finance-reconciliation")).content.decode()
    assert "Amounts differ" in page and paid.reference in page
    client.force_login(finance_b)
    assert paid.reference not in client.get(reverse("payments:finance-reconciliation")).content.decode()


def test_reconciliation_of_a_day_the_provider_cannot_report_is_recorded(paid, settings):
    settings.PAYMENT_SIMULATOR_URL = "http://127.0.0.1:9"  # nothing listens there
    run = reconcile(day=timezone.localdate(paid.created_at) - datetime.timedelta(days=1))
    assert run.error and run.finished_at is not None


def test_the_payment_api_takes_an_idempotency_key(client, alice, bob, simulator, django_capture_on_commit_callbacks):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    url = reverse("payments-api:payment-create")
    assert client.post(url, {"application": application.number}, content_type="application/json").status_code == 400
    first = client.post(
        url, {"application": application.number}, content_type="application/json", headers={"Idempotency-Key": "a"}
    )
    assert first.status_code == 201 and first.json()["amount_fen"] == 12050 and first.json()["state"] == "created"
    again = client.post(
        url, {"application": application.number}, content_type="application/json", headers={"Idempotency-Key": "a"}
    )
    assert again.status_code == 200 and again.json()["reference"] == first.json()["reference"]
    assert Payment.objects.filter(application=application).count() == 1
    detail = client.get(reverse("payments-api:payment", args=[first.json()["reference"]]))
    assert detail.status_code == 200 and detail.json()["next_url"].startswith(simulator.url)
    client.force_login(bob)
    assert (
        client.post(
            url, {"application": application.number}, content_type="application/json", headers={"Idempotency-Key": "b"}
        ).status_code
        == 404
    )
    assert client.get(reverse("payments-api:payment", args=[first.json()["reference"]])).status_code == 404
    assert payment_item(application).status == "waiting"


def test_the_finance_list_costs_the_same_whatever_its_length(client, paid, finance_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(finance_a)

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("payments:finance-payments")).status_code == 200
        return len(queries)

    cost()  # the first request of a session does its own sign-in bookkeeping
    one = cost()
    for n in range(5):
        Payment.objects.create(
            **{
                field.name: getattr(paid, field.name)
                for field in Payment._meta.concrete_fields
                if field.name not in ("id", "reference", "idempotency_key", "provider_id", "receipt")
            },
            reference=f"PAY-MORE{n}",
            idempotency_key=f"more-{n}",
            provider_id=f"sim_more{n}",
        )
    assert cost() == one <= 14
