"""Writes of the payments app: start a payment, apply what the provider says, refund, settle a
finished application, expire what was abandoned. Each write is one transaction; calls to the
provider happen outside transactions (or in tasks sent through the outbox after commit).

Money is an integer of fen throughout.
"""

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from lib.refusals import Refused
from payments.models import Payment, PaymentEvent, Refund, WebhookEvent
from payments.providers import Notification, ProviderError, RefundConflict, provider_get
from services.fees import fee_quote, format_fen
from workflows.engine.actions import payment_step_paid, payment_step_waiting
from workflows.engine.guards import acts_for
from workflows.engine.routing import application_lock
from workflows.models import Application
from workflows.outbox import outbox_confirm, outbox_enqueue

logger = logging.getLogger("payments")

# GOV.UK Pay's limit: a payment not finished within 90 minutes is given up.
EXPIRES_AFTER = timedelta(minutes=90)
REFUND_SEND_TASK = "payments.refund_send"
RECEIPT_TASK = "payments.receipt_issue"
WEBHOOK_TASK = "payments.webhook_process"


class PaymentRefused(Refused):
    pass


class RefundPreconditionFailed(Refused):
    """The amount still refundable is not the one the request quoted: someone refunded first."""

    status_code = 412

    def __init__(self, message: str, *, available_fen: int) -> None:
        super().__init__(message)
        self.available_fen = available_fen


def new_reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(10).upper()}"


def _event(payment: Payment, *, from_state: str, source: str, note: str = "") -> None:
    PaymentEvent.objects.create(
        payment=payment, from_state=from_state, to_state=payment.state, source=source, note=note[:300]
    )
    logger.info(
        "payment %s application=%s %s -> %s (%s) %s",
        payment.reference,
        payment.application_id,
        from_state or "-",
        payment.state,
        source,
        note,
    )


# --- Starting a payment ------------------------------------------------------------------------


def _payment_open(*, payer: User, application_id: int, idempotency_key: str) -> tuple[Payment, bool]:
    """The payment to send the payer to: the one this key made, the one already in flight, or a
    new one (created=True). Serialised per application by its row lock."""
    with transaction.atomic():
        application = application_lock(application_id)
        if not acts_for(payer, application):
            raise PaymentRefused(_("This application does not exist."))
        same_key = Payment.objects.filter(payer=payer, idempotency_key=idempotency_key).first()
        if same_key is not None:
            if same_key.application_id != application.pk:
                raise PaymentRefused(_("This Idempotency-Key was already used for another payment."))
            return same_key, False
        if application.is_finished:
            raise PaymentRefused(_("This application is finished: there is nothing to pay."))
        item = payment_step_waiting(application)
        if item is None:
            if application.payments.filter(state=Payment.State.SUCCESS, unwanted=False).exists():
                raise PaymentRefused(_("The fees for this application are already paid."))
            raise PaymentRefused(_("No payment is due on this application now."))
        now = timezone.now()
        live = application.payments.select_for_update().filter(state__in=Payment.LIVE).first()
        if live is not None and live.expires_at > now and live.provider_id:
            # A second press, another tab, a retry with a new key: the same charge.
            return live, False
        if live is not None:
            from_state = live.state
            live.state, live.failure = Payment.State.FAILED, Payment.Failure.EXPIRED
            live.save(update_fields=["state", "failure", "updated_at"])
            _event(live, from_state=from_state, source=PaymentEvent.Source.PORTAL, note="replaced")
        quote = fee_quote(application.service_version, application.data)
        if quote.total_fen <= 0:
            raise PaymentRefused(_("No payment is due on this application now."))
        payment = Payment.objects.create(
            reference=new_reference("PAY"),
            application=application,
            work_item=item,
            department=item.department,
            payer=payer,
            amount_fen=quote.total_fen,
            description=f"{application.service.name_en} {application.number}"[:200],
            provider=provider_get().name,
            idempotency_key=idempotency_key,
            expires_at=now + EXPIRES_AFTER,
        )
        _event(payment, from_state="", source=PaymentEvent.Source.PORTAL, note=format_fen(payment.amount_fen))
        return payment, True


def payment_start(
    *, payer: User, application_id: int, idempotency_key: str, return_url_for: Callable[[str], str]
) -> tuple[Payment, bool]:
    """Starts paying the application's fees (or finds the payment already started): returns the
    payment, whose `next_url` is the provider's hosted page, and whether it is new.

    The provider is asked outside any transaction, with our reference as its idempotency key, so
    a retry after a lost answer finds the same charge at the provider too."""
    idempotency_key = (idempotency_key or "").strip()[:200]
    if not idempotency_key:
        raise PaymentRefused(_("Send an Idempotency-Key."))
    payment, created = _payment_open(payer=payer, application_id=application_id, idempotency_key=idempotency_key)
    if payment.provider_id or payment.state not in Payment.LIVE:
        return payment, created
    try:
        made = provider_get(payment.provider).create_payment(
            reference=payment.reference,
            amount_fen=payment.amount_fen,
            description=payment.description,
            return_url=return_url_for(payment.reference),
            idempotency_key=payment.reference,
        )
    except ProviderError as exc:
        logger.warning("payment %s: provider refused or unreachable: %s", payment.reference, exc)
        Payment.objects.filter(pk=payment.pk, provider_id="").update(
            state=Payment.State.ERROR, failure=Payment.Failure.PROVIDER, updated_at=timezone.now()
        )
        raise PaymentRefused(
            _("The payment service is not answering. Nothing was charged; please try again in a few minutes.")
        ) from exc
    if made.amount_fen != payment.amount_fen:
        raise PaymentRefused(_("The payment service answered with a different amount. Nothing was charged."))
    Payment.objects.filter(pk=payment.pk, provider_id="").update(
        provider_id=made.provider_id, next_url=made.next_url, updated_at=timezone.now()
    )
    payment.refresh_from_db()
    return payment, created


# --- What the provider says --------------------------------------------------------------------


def payment_state_apply(*, payment_id: int, state: str, source: str, note: str = "") -> Payment:
    """Moves a payment to the state the provider reports. Earlier states never move it back;
    final states stay, except that a success is always recorded: one nobody wants any more
    (expired, withdrawn, already paid) is refunded in full. Idempotent."""
    application_id = Payment.objects.values_list("application_id", flat=True).get(pk=payment_id)
    with transaction.atomic():
        application_lock(application_id)  # the engine's lock order: the application first
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if state == payment.state or state not in Payment.State.values:
            return payment
        from_state = payment.state
        if state in Payment.LIVE:
            if (
                payment.state in Payment.FINAL
                or Payment.ORDER[Payment.State(state)] < Payment.ORDER[Payment.State(payment.state)]
            ):
                return payment  # a stale report (webhooks arrive out of order)
            payment.state = state
            payment.save(update_fields=["state", "updated_at"])
            _event(payment, from_state=from_state, source=source, note=note)
            return payment
        if payment.state in Payment.FINAL and state != Payment.State.SUCCESS:
            return payment
        if payment.state == Payment.State.SUCCESS:
            return payment
        now = timezone.now()
        payment.state = state
        if state == Payment.State.SUCCESS:
            payment.paid_at = now
            late = from_state in Payment.FINAL
            payment.unwanted = late or not payment_step_paid(application_id=application_id, reference=payment.reference)
            payment.failure = Payment.Failure.NONE
        elif state == Payment.State.FAILED:
            payment.failure = payment.failure or Payment.Failure.DECLINED
        elif state == Payment.State.CANCELLED:
            payment.failure = Payment.Failure.CANCELLED_BY_USER
        else:
            payment.failure = Payment.Failure.PROVIDER
        payment.save(update_fields=["state", "paid_at", "unwanted", "failure", "updated_at"])
        _event(payment, from_state=from_state, source=source, note=note or ("unwanted" if payment.unwanted else ""))
        if state == Payment.State.SUCCESS:
            outbox_enqueue(task=RECEIPT_TASK, kwargs={"payment_id": payment.pk})
            if payment.unwanted:
                _refund_record(
                    payment=payment,
                    amount_fen=payment.refundable_fen,
                    available_fen=payment.refundable_fen,
                    reason=Refund.Reason.UNWANTED,
                    actor=None,
                    note=_("Paid after the payment was no longer due."),
                )
        return payment


def payment_refresh(*, payment: Payment, source: str) -> Payment:
    """Asks the provider how the payment stands and applies it (the payer came back, or the
    expiry sweep). A provider that does not answer leaves the payment as it is."""
    if not payment.provider_id:
        return payment
    try:
        there = provider_get(payment.provider).get_payment(payment.provider_id)
    except ProviderError as exc:
        logger.warning("payment %s: provider unreachable on refresh: %s", payment.reference, exc)
        return payment
    if there.amount_fen != payment.amount_fen:
        logger.warning(
            "payment %s: provider reports %s fen, we charged %s: not applied",
            payment.reference,
            there.amount_fen,
            payment.amount_fen,
        )
        return payment
    return payment_state_apply(payment_id=payment.pk, state=there.state, source=source)


class WebhookNotAccepted(Exception):
    """Refused: bad signature, unknown payment or wrong amount. Nothing was written."""


def webhook_accept(*, provider_name: str, body: bytes, headers: dict[str, str]) -> tuple[WebhookEvent, bool]:
    """Verifies a provider notification on its raw body and records it once; its processing is
    sent through the outbox. Returns the event and whether it is new (False: a duplicate)."""
    provider = provider_get(provider_name)
    try:
        notification: Notification = provider.notification(body=body, headers=headers)
    except Exception as exc:  # WebhookRefused, and anything a provider's parser lets through
        raise WebhookNotAccepted(str(exc)) from exc
    payment = Payment.objects.filter(provider=provider.name, provider_id=notification.provider_id).first()
    if payment is None:
        raise WebhookNotAccepted(f"unknown payment {notification.provider_id!r}")
    if notification.amount_fen != payment.amount_fen:
        raise WebhookNotAccepted(
            f"payment {payment.reference}: notification says {notification.amount_fen} fen, "
            f"we charged {payment.amount_fen}"
        )
    if notification.state not in Payment.State.values:
        raise WebhookNotAccepted(f"unknown state {notification.state!r}")
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            provider=provider.name,
            event_id=notification.event_id,
            defaults={"payment": payment, "state": notification.state, "body": {"raw": body.decode(errors="replace")}},
        )
        if created:
            outbox_enqueue(task=WEBHOOK_TASK, kwargs={"webhook_event_id": event.pk})
    return event, created


def webhook_process(*, webhook_event_id: int, outbox_id: int | None = None) -> None:
    event = WebhookEvent.objects.get(pk=webhook_event_id)
    if event.processed_at is None:
        payment_state_apply(
            payment_id=event.payment_id, state=event.state, source=PaymentEvent.Source.WEBHOOK, note=event.event_id
        )
        WebhookEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(processed_at=timezone.now())
    outbox_confirm(outbox_id)


# --- Refunds -----------------------------------------------------------------------------------


def _refund_record(
    *, payment: Payment, amount_fen: int, available_fen: int, reason: str, actor: User | None, note: str = ""
) -> Refund:
    """Call with the payment locked. The conditional update is the guard: it adds the refund only
    while the amount still refundable is the one quoted, so two refunds made against the same
    figure cannot both pass, whatever the timing."""
    if payment.state != Payment.State.SUCCESS:
        raise PaymentRefused(_("Only a completed payment can be refunded."))
    current = payment.refundable_fen
    if available_fen != current:
        raise RefundPreconditionFailed(
            _("The amount still refundable is now %(amount)s, not %(quoted)s: someone refunded in the meantime.")
            % {"amount": format_fen(current), "quoted": format_fen(available_fen)},
            available_fen=current,
        )
    if not 0 < amount_fen <= current:
        raise PaymentRefused(
            _("A refund must be between ¥0.01 and the %(amount)s still refundable.") % {"amount": format_fen(current)}
        )
    changed = Payment.objects.filter(pk=payment.pk, refunded_fen=payment.refunded_fen).update(
        refunded_fen=F("refunded_fen") + amount_fen, updated_at=timezone.now()
    )
    if changed != 1:
        raise RefundPreconditionFailed(_("Someone refunded this payment in the meantime."), available_fen=current)
    payment.refunded_fen += amount_fen
    refund = Refund.objects.create(
        reference=new_reference("RF"),
        payment=payment,
        amount_fen=amount_fen,
        available_before_fen=available_fen,
        reason=reason,
        note=note[:300],
        requested_by=actor,
    )
    logger.info("refund %s of %s fen on %s (%s)", refund.reference, amount_fen, payment.reference, reason)
    outbox_enqueue(task=REFUND_SEND_TASK, kwargs={"refund_id": refund.pk})
    return refund


def refund_request(
    *,
    payment_id: int,
    amount_fen: int,
    available_fen: int,
    actor: User | None,
    reason: str = Refund.Reason.STAFF,
    note: str = "",
) -> Refund:
    """A partial or full refund, quoting the amount still refundable as the requester saw it."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        return _refund_record(
            payment=payment, amount_fen=amount_fen, available_fen=available_fen, reason=reason, actor=actor, note=note
        )


def refund_send(*, refund_id: int, outbox_id: int | None = None) -> str:
    """Asks the provider for the refund (a task; idempotent by the refund's reference). A
    provider that does not answer leaves it submitted and the outbox sends the task again."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.state != Refund.State.SUBMITTED:
        outbox_confirm(outbox_id)
        return refund.state
    payment = refund.payment
    try:
        made = provider_get(payment.provider).refund(
            provider_id=payment.provider_id,
            amount_fen=refund.amount_fen,
            available_fen=refund.available_before_fen,
            refund_reference=refund.reference,
        )
    except RefundConflict as exc:
        logger.warning("refund %s refused by the provider (412): %s", refund.reference, exc)
        with transaction.atomic():
            if Refund.objects.filter(pk=refund.pk, state=Refund.State.SUBMITTED).update(
                state=Refund.State.ERROR, finished_at=timezone.now()
            ):
                Payment.objects.filter(pk=payment.pk).update(refunded_fen=F("refunded_fen") - refund.amount_fen)
        outbox_confirm(outbox_id)
        return Refund.State.ERROR
    except ProviderError as exc:
        logger.warning("refund %s: provider unreachable, the outbox will try again: %s", refund.reference, exc)
        return Refund.State.SUBMITTED
    with transaction.atomic():
        if Refund.objects.filter(pk=refund.pk, state=Refund.State.SUBMITTED).update(
            state=Refund.State.SUCCESS, provider_refund_id=made.provider_refund_id, finished_at=timezone.now()
        ):
            outbox_enqueue(task=RECEIPT_TASK, kwargs={"refund_id": refund.pk})
    outbox_confirm(outbox_id)
    return Refund.State.SUCCESS


def application_settle(*, application_id: int, outbox_id: int | None = None) -> list[Refund]:
    """A withdrawn or refused application: each of its payments is refunded by the service's
    rules (each fee says whether it is given back on withdrawal, on refusal). Once per payment."""
    made: list[Refund] = []
    with transaction.atomic():
        application = Application.objects.select_related("service_version").get(pk=application_id)
        outcome = {Application.Status.WITHDRAWN: "withdrawn", Application.Status.REJECTED: "rejected"}.get(
            Application.Status(application.status)
        )
        if outcome is not None:
            rules = fee_quote(application.service_version, application.data)
            payments = Payment.objects.select_for_update().filter(
                application=application, state=Payment.State.SUCCESS, unwanted=False
            )
            for payment in payments:
                if payment.refunds.filter(reason=outcome).exists():
                    continue
                due = min(rules.refundable_on(outcome), payment.refundable_fen)
                if due > 0:
                    made.append(
                        _refund_record(
                            payment=payment,
                            amount_fen=due,
                            available_fen=payment.refundable_fen,
                            reason=outcome,
                            actor=None,
                        )
                    )
    outbox_confirm(outbox_id)
    return made


# --- Expiry ------------------------------------------------------------------------------------


def payments_expire(*, now=None) -> int:
    """Payments in flight past their 90 minutes: the provider is asked first (it may have taken
    the money); what it has not finished is given up here. A success it reports later is
    recorded and refunded (payment_state_apply)."""
    now = now or timezone.now()
    expired = 0
    for payment in Payment.objects.filter(state__in=Payment.LIVE, expires_at__lte=now).order_by("expires_at")[:200]:
        payment = payment_refresh(payment=payment, source=PaymentEvent.Source.EXPIRY)
        if payment.state not in Payment.LIVE:
            continue
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.state in Payment.LIVE:
                from_state = locked.state
                locked.state, locked.failure = Payment.State.FAILED, Payment.Failure.EXPIRED
                locked.save(update_fields=["state", "failure", "updated_at"])
                _event(locked, from_state=from_state, source=PaymentEvent.Source.EXPIRY, note="expired")
                expired += 1
    return expired
