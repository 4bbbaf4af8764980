"""Paying inside the route, against the payment provider simulator running as its own process:
the step waits with its clock stopped, a payment goes on, retries never charge twice, and money
no longer due is refunded."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from documents.models import Document
from payments import actions
from payments.models import Payment, PaymentEvent, Refund
from payments.tests.support import fee_version, payment_item, submit_paying
from workflows.engine.actions import application_withdraw
from workflows.models import Application, WorkItem
from workflows.tests.progress_support import decide, item

pytestmark = pytest.mark.django_db


def start(client, application, key="first"):
    """The applicant's "Pay now": returns the payment and the simulator's page it sends them to."""
    response = client.post(reverse("payments:pay", args=[application.number]), {"token": key})
    assert response.status_code == 302
    payment = Payment.objects.get(idempotency_key=f"html-{key}")
    assert response["Location"] == payment.next_url
    return payment


def come_back(client, payment, capture):
    with capture(execute=True):
        return client.get(reverse("payments:return", args=[payment.reference]), follow=True)


def test_the_payment_step_waits_with_its_clock_stopped(client, alice, django_capture_on_commit_callbacks):
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    step = payment_item(application)
    assert step.status == WorkItem.Status.WAITING and step.clock_stopped_at is not None
    assert item(application, "licence") is None  # the review waits for the payment
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Payment needed" in page and "¥120.50" in page
    assert "The statutory clock is stopped until you pay." in page
    assert "Clock stopped — waiting for your payment" in page


def test_nothing_to_pay_finishes_the_step_at_once(alice, django_capture_on_commit_callbacks):
    version = fee_version(
        fees=[
            {
                "label_en": "Fee",
                "amount": Decimal("10.00"),
                "exempt_when": {"element": "business.floor_area_m2", "lt": 500},
            }
        ]
    )
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice, version=version)
    assert payment_item(application).status == WorkItem.Status.DONE
    assert item(application, "licence").status == WorkItem.Status.OPEN


def test_alice_pays_and_the_route_goes_on_with_a_receipt_in_her_vault(
    client, alice, simulator, django_capture_on_commit_callbacks
):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    payment = start(client, application)
    assert payment.state == Payment.State.CREATED and payment.amount_fen == 12050
    assert simulator.payment(payment.provider_id)["amount"] == 12050
    assert simulator.press(payment.provider_id, "pay").status_code == 303
    page = come_back(client, payment, django_capture_on_commit_callbacks).content.decode()
    assert "your payment of ¥120.50 is received" in page
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCESS and not payment.unwanted
    assert payment_item(application).status == WorkItem.Status.DONE
    assert payment_item(application).clock_stopped_at is None
    assert item(application, "licence").status == WorkItem.Status.OPEN
    receipt = Document.objects.get(owner=alice, document_type__code="payment-receipt")
    assert payment.receipt_id == receipt.pk and receipt.display_name.startswith("Payment receipt PAY-")


def test_a_retry_never_makes_a_second_charge(client, alice, simulator, django_capture_on_commit_callbacks):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    first = start(client, application, key="one")
    # The same key again, and a new key while the first is in flight: the same charge.
    again = client.post(reverse("payments:pay", args=[application.number]), {"token": "one"})
    assert again["Location"] == first.next_url
    other_tab = client.post(reverse("payments:pay", args=[application.number]), {"token": "two"})
    assert other_tab["Location"] == first.next_url
    assert Payment.objects.filter(application=application).count() == 1
    today = timezone.localdate(datetime.datetime.fromisoformat(simulator.payment(first.provider_id)["created"]))
    report = simulator_report(simulator, today)
    assert [row["payment_id"] for row in report if row["reference"] == first.reference] == [first.provider_id]


def simulator_report(simulator, day):
    import requests

    return requests.get(f"{simulator.url}/v1/report", params={"date": day.isoformat()}, timeout=5).json()["payments"]


def test_a_declined_payment_then_a_retry_that_succeeds(client, alice, simulator, django_capture_on_commit_callbacks):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    declined = start(client, application, key="a")
    simulator.press(declined.provider_id, "fail")
    page = come_back(client, declined, django_capture_on_commit_callbacks).content.decode()
    assert "Your payment did not go through" in page
    assert payment_item(application).status == WorkItem.Status.WAITING
    retry = start(client, application, key="b")
    assert retry.pk != declined.pk
    simulator.press(retry.provider_id, "pay")
    come_back(client, retry, django_capture_on_commit_callbacks)
    states = dict(Payment.objects.filter(application=application).values_list("reference", "state"))
    assert states == {declined.reference: "failed", retry.reference: "success"}
    assert simulator.payment(declined.provider_id)["state"] == "failed"
    # Paid: nothing more is due, and a further "pay" is refused with a clear message.
    refused = client.post(reverse("payments:pay", args=[application.number]), {"token": "c"}, follow=True)
    assert "already paid" in refused.content.decode()


def test_withdrawal_after_payment_refunds_by_the_services_rules(
    client, alice, simulator, django_capture_on_commit_callbacks
):
    simulator.configure(delivery="none")
    version = fee_version(
        fees=[
            {"label_en": "Given back", "amount": Decimal("100.00"), "refund_on_withdrawal": True},
            {"label_en": "Kept", "amount": Decimal("20.50"), "refund_on_withdrawal": False},
        ]
    )
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice, version=version)
    client.force_login(alice)
    payment = start(client, application)
    simulator.press(payment.provider_id, "pay")
    come_back(client, payment, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        application_withdraw(application_id=application.pk, applicant=alice)
    refund = Refund.objects.get(payment=payment)
    assert refund.reason == Refund.Reason.WITHDRAWN and refund.amount_fen == 10000
    assert refund.state == Refund.State.SUCCESS
    assert simulator.payment(payment.provider_id)["refunded"] == 10000
    assert Document.objects.filter(owner=alice, display_name=f"Refund receipt {refund.reference}.pdf").exists()


@pytest.mark.parametrize(("refund_on_rejection", "refunded"), [(False, 0), (True, 12050)])
def test_rejection_refunds_only_what_the_service_gives_back(
    client, alice, clerk_a, simulator, django_capture_on_commit_callbacks, refund_on_rejection, refunded
):
    simulator.configure(delivery="none")
    version = fee_version(
        fees=[{"label_en": "Fee", "amount": Decimal("120.50"), "refund_on_rejection": refund_on_rejection}]
    )
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice, version=version)
    client.force_login(alice)
    payment = start(client, application)
    simulator.press(payment.provider_id, "pay")
    come_back(client, payment, django_capture_on_commit_callbacks)
    decide(
        django_capture_on_commit_callbacks,
        application,
        "licence",
        clerk_a,
        decision="rejected",
        reasons=["Not eligible"],
    )
    assert Application.objects.get(pk=application.pk).status == Application.Status.REJECTED
    payment.refresh_from_db()
    assert payment.refunded_fen == refunded
    assert simulator.payment(payment.provider_id)["refunded"] == refunded


def test_a_success_for_a_withdrawn_application_is_recorded_and_refunded(
    client, alice, simulator, django_capture_on_commit_callbacks
):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    payment = start(client, application)
    with django_capture_on_commit_callbacks(execute=True):
        application_withdraw(application_id=application.pk, applicant=alice)
    simulator.press(payment.provider_id, "pay")
    page = come_back(client, payment, django_capture_on_commit_callbacks).content.decode()
    assert "no longer due; it is being refunded" in page
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCESS and payment.unwanted
    assert payment.refunded_fen == payment.amount_fen
    assert Refund.objects.get(payment=payment).reason == Refund.Reason.UNWANTED
    assert simulator.payment(payment.provider_id)["refunded"] == payment.amount_fen


def test_a_success_after_expiry_is_recorded_and_refunded(client, alice, simulator, django_capture_on_commit_callbacks):
    simulator.configure(delivery="none")
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    payment = start(client, application)
    simulator.press(payment.provider_id, "")  # opens the page (started), presses nothing
    later = payment.expires_at + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert actions.payments_expire() == 1
    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED and payment.failure == Payment.Failure.EXPIRED
    # The payer finishes on the provider's page after all: the money is recorded and given back.
    simulator.press(payment.provider_id, "pay")
    come_back(client, payment, django_capture_on_commit_callbacks)
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCESS and payment.unwanted
    assert payment.refunded_fen == payment.amount_fen
    assert payment.events.filter(to_state="success", source=PaymentEvent.Source.RETURN).exists()
    assert payment_item(application).status == WorkItem.Status.WAITING  # still to pay, afresh


def test_someone_else_cannot_start_or_see_alices_payment(
    client, alice, bob, simulator, django_capture_on_commit_callbacks
):
    application = submit_paying(django_capture_on_commit_callbacks, applicant=alice)
    client.force_login(alice)
    payment = start(client, application)
    client.force_login(bob)
    assert client.get(reverse("payments:pay", args=[application.number])).status_code == 404
    assert client.post(reverse("payments:pay", args=[application.number]), {"token": "x"}).status_code == 404
    assert client.get(reverse("payments:return", args=[payment.reference])).status_code == 404
