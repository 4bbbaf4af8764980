"""Alice pays a fee inside her application's route, on the payment provider simulator's own page
(a separate process), comes back, and the route goes on; her receipt is in her vault. The same
with the simulator's signed webhook arriving before she is sent back, twice, and after; and a
declined card, then a retry that succeeds with one charge. Axe-checked pages."""

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from documents.models import Document
from payments.models import Payment, PaymentEvent, WebhookEvent
from payments.tests.support import SECRET, Simulator
from services.demo import seed_catalogue
from tests.support.browser import sign_in
from tests.support.processes import free_port, wait_until
from workflows.apply.demo import seed_demo_vault
from workflows.models import Application, WorkItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SERVICE = "household-register-extract"


@pytest.fixture
def demo(transactional_db):
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()


@pytest.fixture
def simulator(live_server, settings):
    """The simulator as its own process, sending its webhooks to this test's portal."""
    running = Simulator(free_port())
    running.start(webhook_url=f"{live_server.url}/payments/webhooks/simulator/")
    settings.PAYMENT_SIMULATOR_URL = running.url
    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    yield running
    running.stop()


def _continue(page) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("networkidle")


def apply_for_copies(page, assert_accessible) -> Application:
    """Alice applies for three certified copies: ¥20.00 + 3 × ¥5.50, shown before she submits."""
    page.goto(f"/services/{SERVICE}/")
    page.get_by_role("button", name="Apply now").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_load_state("networkidle")
    _continue(page)  # about you: known and verified
    page.get_by_label("No").check()
    page.get_by_label("Number of certified copies").fill("3")
    _continue(page)
    _continue(page)  # documents: her ID card from the vault
    assert page.get_by_role("heading", name="Check your answers").is_visible()
    fees = page.locator("table.od-fees")
    assert "Each certified copy (3 units)" in fees.inner_text() and "¥36.50" in fees.inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Accept and submit").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Application submitted").is_visible()
    assert "¥36.50" in page.locator("table.od-fees").inner_text()  # on the receipt too
    return Application.objects.get(applicant__username="alice", service__code=SERVICE)


def go_to_payment(page, application: Application, assert_accessible) -> None:
    page.goto(reverse("workflows:progress-application", args=[application.number]))
    banner = page.locator("#payment-due")
    assert "¥36.50" in banner.inner_text() and "The statutory clock is stopped until you pay." in banner.inner_text()
    assert "Clock stopped — waiting for your payment" in page.locator("tr[data-step=pay]").inner_text()
    assert_accessible(page)
    banner.get_by_role("link", name="Pay the fees").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Pay the fees").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Pay ¥36.50 now").click()
    page.wait_for_load_state("networkidle")


def assert_paid_and_routed(page, application: Application, assert_accessible) -> Payment:
    assert page.get_by_text("Thank you: your payment of ¥36.50 is received.").is_visible()
    assert "Finished" in page.locator("tr[data-step=pay]").inner_text()
    assert "working days left" in page.locator("tr[data-step=examine]").inner_text()
    assert page.locator("#payment-due").count() == 0
    assert_accessible(page)
    payment = Payment.objects.get(application=application, state=Payment.State.SUCCESS)
    assert application.work_items.get(step_key="examine").status == WorkItem.Status.OPEN
    page.goto(reverse("documents:vault"))
    assert page.get_by_role("link", name=f"Payment receipt {payment.reference}.pdf", exact=True).count() == 1
    assert Document.objects.get(pk=payment.receipt_id).owner.username == "alice"
    return payment


@pytest.mark.parametrize("delivery", ["after", "before", "twice", "out_of_order"])
def test_alice_pays_on_the_simulator_and_her_route_goes_on(page, demo, simulator, assert_accessible, delivery):
    simulator.configure(delivery=delivery, delay=0.5)
    sign_in(page, "alice", DEMO_PASSWORD)
    application = apply_for_copies(page, assert_accessible)
    go_to_payment(page, application, assert_accessible)

    # The simulator's own hosted page, on its own port.
    assert page.url.startswith(simulator.url)
    assert page.get_by_role("heading", name="Payment simulator").is_visible()
    page.get_by_role("button", name="Pay ¥36.50").click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(simulator.url) is False
    payment = assert_paid_and_routed(page, application, assert_accessible)

    # Every delivery of the success notification reaches the portal and is answered 200; each
    # event is recorded once, and the payment became a success exactly once.
    expected = 2 if delivery == "twice" else 1
    wait_until(
        lambda: sum(1 for d in simulator.deliveries() if d["state"] == "success") == expected,
        timeout=15,
        message=f"{expected} success deliveries",
    )
    success_deliveries = [d for d in simulator.deliveries() if d["state"] == "success"]
    assert {d["status"] for d in success_deliveries} == {200}
    assert len({d["event_id"] for d in success_deliveries}) == 1
    wait_until(
        lambda: WebhookEvent.objects.filter(payment=payment, state="success", processed_at__isnull=False).exists(),
        timeout=10,
    )
    assert WebhookEvent.objects.filter(payment=payment, state="success").count() == 1
    assert payment.events.filter(to_state="success").count() == 1
    came_first = payment.events.get(to_state="success").source
    if delivery in ("before", "twice"):
        assert came_first == PaymentEvent.Source.WEBHOOK  # known before Alice was back
    assert Payment.objects.filter(application=application).count() == 1
    if delivery == "out_of_order":
        # The stale "started" event came after the success: accepted, and it changed nothing.
        wait_until(lambda: WebhookEvent.objects.filter(payment=payment, state="started").exists(), timeout=10)
        payment.refresh_from_db()
        assert payment.state == Payment.State.SUCCESS


def test_a_declined_card_then_a_retry_that_succeeds_with_one_charge(page, demo, simulator, assert_accessible):
    simulator.configure(delivery="after", delay=0.2)
    sign_in(page, "alice", DEMO_PASSWORD)
    application = apply_for_copies(page, assert_accessible)
    go_to_payment(page, application, assert_accessible)
    page.get_by_role("button", name="Decline the card").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Your payment did not go through").is_visible()
    assert page.locator("#payment-due").is_visible()  # still to pay
    assert_accessible(page)

    go_to_payment(page, application, assert_accessible)
    page.get_by_role("button", name="Pay ¥36.50").click()
    page.wait_for_load_state("networkidle")
    payment = assert_paid_and_routed(page, application, assert_accessible)
    states = sorted(Payment.objects.filter(application=application).values_list("state", flat=True))
    assert states == ["failed", "success"]
    charged = [
        p
        for p in (simulator.payment(x.provider_id) for x in Payment.objects.filter(application=application))
        if p["state"] == "success"
    ]
    assert [p["payment_id"] for p in charged] == [payment.provider_id]


def test_finance_staff_refund_part_of_a_payment(page, alice, password, department_a, simulator, assert_accessible):
    """A finance officer of the department finds the payment, refunds part of it quoting what is
    still refundable, and sees a stale second try refused; every page axe-clean."""
    from accounts.models import Role
    from payments import actions
    from payments.tests.support import submit_paying
    from tests.conftest import staff_member

    finance = staff_member("finance_a", "Finance A", department_a, Role.FINANCE)
    simulator.configure(delivery="none")
    application = submit_paying(no_capture, applicant=alice)
    payment, _ = actions.payment_start(
        payer=alice, application_id=application.pk, idempotency_key="k", return_url_for=lambda ref: "http://x/"
    )
    simulator.press(payment.provider_id, "pay")
    actions.payment_refresh(payment=payment, source="return")

    sign_in(page, finance.username, password)
    page.goto(reverse("payments:finance-payments"))
    assert page.get_by_role("heading", name="Payments").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name=payment.reference).click()
    assert page.locator("#refundable").inner_text() == "¥120.50"
    assert_accessible(page)
    page.get_by_label("Amount to refund, in yuan").fill("20.5")
    page.get_by_label("Reason for the refund").fill("Charged for one copy too many")
    page.get_by_role("button", name="Refund").click()
    assert page.get_by_text("The refund is on its way to the payment service.").is_visible()
    assert page.locator("#refundable").inner_text() == "¥100.00"
    assert simulator.payment(payment.provider_id)["refunded"] == 2050
    page.goto(reverse("payments:finance-refunds"))
    assert page.get_by_text("Given by finance staff").is_visible()
    assert_accessible(page)
    page.goto(reverse("payments:finance-reconciliation"))
    assert page.get_by_text("No differences found.").is_visible()
    assert_accessible(page)


def no_capture(execute: bool = True):
    from contextlib import nullcontext

    return nullcontext()  # transactional test: on-commit work runs as each transaction commits
