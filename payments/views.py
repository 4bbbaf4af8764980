"""Pages of the payments app: the applicant pays (and comes back), the provider notifies, and
finance staff see their departments' payments, refunds and reconciliation. Thin: parse, call
one action or selector, render."""

import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from payments import actions, selectors
from payments.forms import RefundForm
from payments.models import Payment, PaymentEvent
from payments.providers import PROVIDERS
from services.fees import fee_quote, format_fen
from workflows.engine.actions import payment_step_waiting
from workflows.models import Application
from workflows.progress.selectors import application_for_applicant

logger = logging.getLogger("payments")
PAGE_SIZE = 25


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _page(request: HttpRequest, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


# --- The applicant ---------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, number: str) -> HttpResponse:
    """What is owed, with a button to the provider's page; the payments made so far."""
    try:
        application = application_for_applicant(user=_me(request), number=number)
    except Application.DoesNotExist as exc:
        raise Http404 from exc
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if not token:
            messages.error(request, _("Your payment could not be started. Please try again."))
            return redirect("payments:pay", number)
        try:
            payment, _created = actions.payment_start(
                payer=_me(request),
                application_id=application.pk,
                idempotency_key=f"html-{token}",
                return_url_for=lambda reference: request.build_absolute_uri(
                    reverse("payments:return", args=[reference])
                ),
            )
        except actions.PaymentRefused as refused:
            messages.error(request, refused.message)
            return redirect("payments:pay", number)
        if payment.is_live and payment.next_url:
            return redirect(payment.next_url)
        messages.info(request, _("This payment is %(state)s.") % {"state": payment.get_state_display()})
        return redirect("payments:pay", number)
    quote = fee_quote(application.service_version, application.data)
    context = {
        "application": application,
        "quote": quote,
        "waiting": payment_step_waiting(application) is not None and not application.is_finished,
        "payments": selectors.payments_of_application(application),
        "token": uuid.uuid4().hex,
    }
    return render(request, "payments/pay.html", context)


@login_required
@never_cache
@require_GET
def payment_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Where the provider sends the payer back: ask the provider, say how it went."""
    try:
        payment = selectors.payment_for_payer(user=_me(request), reference=reference)
    except Payment.DoesNotExist as exc:
        raise Http404 from exc
    payment = actions.payment_refresh(payment=payment, source=PaymentEvent.Source.RETURN)
    amount = format_fen(payment.amount_fen)
    if payment.state == Payment.State.SUCCESS and not payment.unwanted:
        messages.success(
            request,
            _("Thank you: your payment of %(amount)s is received. Your receipt is in your documents.")
            % {"amount": amount},
        )
    elif payment.state == Payment.State.SUCCESS:
        messages.info(
            request, _("Your payment of %(amount)s was no longer due; it is being refunded.") % {"amount": amount}
        )
    elif payment.state in Payment.LIVE:
        messages.info(
            request, _("We are waiting for the payment service to confirm your payment. This page will show it.")
        )
    else:
        messages.error(
            request,
            _("Your payment did not go through (%(state)s). Nothing was charged; you can try again.")
            % {"state": payment.get_state_display()},
        )
    return redirect("workflows:progress-application", payment.application.number)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's notification: verified on the raw body, recorded once by event id, and
    answered at once; the work is done by a task sent through the outbox."""
    if provider not in PROVIDERS:
        raise Http404
    headers = dict(request.headers.items())
    try:
        _event, created = actions.webhook_accept(provider_name=provider, body=request.body, headers=headers)
    except actions.WebhookNotAccepted as refused:
        logger.warning("webhook from %s refused: %s", provider, refused)
        return JsonResponse({"accepted": False}, status=400)
    return JsonResponse({"accepted": True, "duplicate": not created})


# --- Finance staff ---------------------------------------------------------------------------


def finance_only(view):
    @login_required
    @never_cache
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_finance(_me(request)):
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@finance_only
@require_GET
def finance_payments(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in Payment.State.values:
        state = ""
    page = _page(request, selectors.payments_for_finance(user=_me(request), state=state))
    return render(
        request,
        "payments/finance_payments.html",
        {"page": page, "state": state, "states": Payment.State.choices, "query": f"state={state}" if state else ""},
    )


@finance_only
@require_http_methods(["GET", "POST"])
def finance_payment(request: HttpRequest, reference: str) -> HttpResponse:
    """One payment, its history and refunds; a refund quoting the amount still refundable."""
    try:
        payment = selectors.payment_for_finance(user=_me(request), reference=reference)
    except Payment.DoesNotExist as exc:
        raise Http404 from exc
    form = RefundForm(request.POST or None, initial={"available_fen": payment.refundable_fen})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.refund_request(
                    payment_id=payment.pk,
                    amount_fen=form.cleaned_data["amount"],
                    available_fen=form.cleaned_data["available_fen"],
                    actor=_me(request),
                    note=form.cleaned_data["note"],
                )
            except actions.RefundPreconditionFailed as refused:
                form.add_error(None, refused.message)
                status = 412
            except actions.PaymentRefused as refused:
                form.add_error("amount", refused.message)
                status = 400
            else:
                messages.success(request, _("The refund is on its way to the payment service."))
                return redirect("payments:finance-payment", reference)
        else:
            status = 400
        payment.refresh_from_db()
    context = {
        "payment": payment,
        "events": payment.events.all(),
        "refunds": payment.refunds.select_related("requested_by"),
        "form": form,
    }
    return render(request, "payments/finance_payment.html", context, status=status)


@finance_only
@require_GET
def finance_refunds(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.refunds_for_finance(user=_me(request)))
    return render(request, "payments/finance_refunds.html", {"page": page})


@finance_only
@require_GET
def finance_reconciliation(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.mismatches_for_finance(user=_me(request)))
    return render(request, "payments/finance_reconciliation.html", {"page": page})
