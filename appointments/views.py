"""Booking pages: an appointment step, a counter visit from the service page, the signed change
and cancel link (no sign-in), and the counter's day list for staff."""

from datetime import date
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import COUNTER_ROLES, has_role
from appointments import actions, selectors
from appointments.ics import appointment_ics
from appointments.links import appointment_from_token, manage_path
from appointments.models import Appointment, Offering
from appointments.slots import BookingRefused, free_page, parse_time
from services.models import Service
from workflows.models import WorkItem

LINK_USED = 410


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind login_required


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _chosen_offering(request: HttpRequest, offerings: list[Offering]) -> Offering | None:
    wanted = request.POST.get("place") or request.GET.get("place")
    return next((o for o in offerings if o.place.code == wanted), offerings[0] if offerings else None)


def _booking_page(
    request: HttpRequest,
    *,
    template_context: dict,
    offerings: list[Offering],
    book,
    status: int = 200,
) -> HttpResponse:
    """The free days and times (a page of days, radios grouped by day), and the booking itself.
    A refused booking is shown above the same page of days, the chosen time still chosen."""
    offering = _chosen_offering(request, offerings)
    start = _day(request.POST.get("from") or request.GET.get("from"))
    error = ""
    chosen = request.POST.get("time", "")
    if request.method == "POST" and offering is not None:
        try:
            return book(offering, parse_time(chosen))
        except BookingRefused as refused:
            error, status = refused.message, 400
    page = free_page(offering, start=start) if offering is not None else None
    return render(
        request,
        "appointments/book.html",
        {
            **template_context,
            "offerings": offerings,
            "offering": offering,
            "page": page,
            "chosen": chosen,
            "error": error,
        },
        status=status,
    )


# --- The applicant ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def step_book(request: HttpRequest, item_id: int) -> HttpResponse:
    try:
        item = selectors.appointment_step_for_applicant(user=_me(request), work_item_id=item_id)
    except WorkItem.DoesNotExist as exc:
        raise Http404 from exc
    application = item.application
    existing = selectors.active_appointment_of_step(item)
    if existing is not None and request.method == "GET":
        messages.info(request, _("You already have an appointment for this step. You can change or cancel it here."))
        return redirect(manage_path(existing.pk))
    if item.status != WorkItem.Status.OPEN:
        return render(request, "appointments/closed_step.html", {"item": item, "application": application}, status=409)

    def book(offering: Offering, starts_at) -> HttpResponse:
        appointment = actions.appointment_book(
            person=_me(request), offering=offering, starts_at=starts_at, work_item=item
        )
        messages.success(request, _("Your appointment is booked. We have sent you a confirmation."))
        return redirect(manage_path(appointment.pk))

    return _booking_page(
        request,
        template_context={
            "heading": _("Book a time: %(step)s") % {"step": item.step_label},
            "caption": f"{application.service.name} — {application.number}",
            "back_url": reverse("workflows:progress-application", args=[application.number]),
        },
        offerings=actions.offerings_for_step(item),
        book=book,
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_book(request: HttpRequest, code: str) -> HttpResponse:
    service = get_object_or_404(Service, code=code, at_counter=True)

    def book(offering: Offering, starts_at) -> HttpResponse:
        appointment = actions.appointment_book(person=_me(request), offering=offering, starts_at=starts_at)
        messages.success(request, _("Your appointment is booked. We have sent you a confirmation."))
        return redirect(manage_path(appointment.pk))

    return _booking_page(
        request,
        template_context={
            "heading": _("Book a counter visit: %(service)s") % {"service": service.name},
            "caption": service.lead_department.name,
            "back_url": reverse("services:service", args=[service.code]),
        },
        offerings=selectors.counter_offerings(service),
        book=book,
    )


# --- The signed link (no sign-in) ------------------------------------------------------------


def _from_token(token: str) -> Appointment:
    appointment_id = appointment_from_token(token)
    if appointment_id is None:
        raise Http404
    try:
        return Appointment.objects.select_related("offering__place", "offering__service", "application").get(
            pk=appointment_id
        )
    except Appointment.DoesNotExist as exc:
        raise Http404 from exc


def _unchangeable(request: HttpRequest, appointment: Appointment) -> HttpResponse | None:
    """The clear page for a link that was used already, or whose appointment is over."""
    if appointment.status == Appointment.Status.BOOKED and appointment.starts_at > timezone.now():
        return None
    return render(request, "appointments/link_used.html", _manage_context(appointment), status=LINK_USED)


def _manage_context(appointment: Appointment) -> dict:
    newest = appointment
    while newest.replaced_by_id is not None:  # a moved appointment: where it went
        newest = Appointment.objects.select_related("offering__place").get(pk=newest.replaced_by_id)
    return {
        "appointment": appointment,
        "newest": newest if newest.pk != appointment.pk else None,
        "changeable": appointment.status == Appointment.Status.BOOKED and appointment.starts_at > timezone.now(),
        "place": appointment.offering.place,
        "service": appointment.offering.service,
    }


@require_GET
def manage(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _from_token(token)
    return render(request, "appointments/manage.html", {**_manage_context(appointment), "token": token})


@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _from_token(token)
    refusal = _unchangeable(request, appointment)
    if refusal is not None:
        return refusal

    def book(offering: Offering, starts_at) -> HttpResponse:
        try:
            moved = actions.appointment_reschedule(appointment_id=appointment.pk, starts_at=starts_at)
        except BookingRefused:
            appointment.refresh_from_db()
            if appointment.status != Appointment.Status.BOOKED:  # used in another tab meanwhile
                return render(request, "appointments/link_used.html", _manage_context(appointment), status=LINK_USED)
            raise
        messages.success(request, _("Your appointment has been moved. We have sent you a new confirmation."))
        return redirect(manage_path(moved.pk))

    when = timezone.localtime(appointment.starts_at)
    return _booking_page(
        request,
        template_context={
            "heading": _("Choose a new time"),
            "caption": appointment.offering.service.name,
            "current": when,
            "back_url": manage_path(appointment.pk),
        },
        offerings=[appointment.offering],
        book=book,
    )


@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _from_token(token)
    refusal = _unchangeable(request, appointment)
    if refusal is not None:
        return refusal
    if request.method == "POST":
        try:
            actions.appointment_cancel(appointment_id=appointment.pk, reason=_("Cancelled by you"))
        except BookingRefused:
            appointment.refresh_from_db()
            return render(request, "appointments/link_used.html", _manage_context(appointment), status=LINK_USED)
        messages.success(request, _("Your appointment has been cancelled."))
        return redirect(manage_path(appointment.pk))
    return render(request, "appointments/cancel.html", {**_manage_context(appointment), "token": token})


@require_GET
def calendar_file(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _from_token(token)
    response = HttpResponse(appointment_ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


# --- The counter -----------------------------------------------------------------------------

COUNTER_ACTIONS = {
    "check-in": actions.appointment_check_in,
    "done": actions.appointment_mark_done,
    "no-show": actions.appointment_mark_no_show,
}


@login_required
@require_GET
def counter(request: HttpRequest) -> HttpResponse:
    if not has_role(_me(request), COUNTER_ROLES):
        raise Http404
    places = list(selectors.places_for_staff(user=_me(request)))
    if not places:
        return render(request, "appointments/counter.html", {"places": []})
    place = next((p for p in places if p.code == request.GET.get("place")), places[0])
    day = _day(request.GET.get("day")) or timezone.localdate()
    page = Paginator(selectors.day_list(place=place, day=day), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "appointments/counter.html",
        {
            "places": places,
            "place": place,
            "day": day,
            "page": page,
            "query": f"place={place.code}&day={day.isoformat()}",
            "Status": Appointment.Status,
        },
    )


@login_required
@require_POST
def counter_mark(request: HttpRequest, appointment_id: int, action: str) -> HttpResponse:
    mark = COUNTER_ACTIONS.get(action)
    if mark is None:
        raise Http404
    try:
        appointment = mark(appointment_id=appointment_id, clerk=_me(request))
    except Appointment.DoesNotExist as exc:
        raise Http404 from exc
    except BookingRefused as refused:
        messages.error(request, refused.message)
        appointment = get_object_or_404(Appointment.objects.select_related("offering__place"), pk=appointment_id)
    else:
        messages.success(
            request,
            _("%(name)s: %(status)s.") % {"name": appointment.person.name, "status": appointment.get_status_display()},
        )
    day = timezone.localdate(appointment.starts_at).isoformat()
    return redirect(f"{reverse('appointments:counter')}?place={appointment.offering.place.code}&day={day}")
