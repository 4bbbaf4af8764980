"""The appointments API: my appointments, an appointment step's free times, booking it, and
moving or cancelling my own booking. Thin: parse, call a selector or action, serialise.
Someone else's step or appointment answers 404; a refused booking 409 with the reason."""

from datetime import date
from typing import cast

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.models import User
from appointments import actions, selectors
from appointments.links import manage_path
from appointments.models import Appointment, Offering
from appointments.slots import BookingRefused, free_page, parse_time
from workflows.models import WorkItem
from workflows.notifications.notify import absolute_url

REFUSED = OpenApiResponse(
    description="Refused, nothing changed: {detail: why} (the time is full, has passed or is not offered; "
    "already booked; cancelled, moved or begun)."
)


def _me(request: Request) -> User:
    return cast(User, request.user)  # IsAuthenticated


class AppointmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="offering.service.code")
    place = serializers.CharField(source="offering.place.code")
    place_name = serializers.CharField(source="offering.place.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.CharField()
    application = serializers.CharField(source="application.number", allow_null=True, default=None)
    manage_url = serializers.SerializerMethodField()

    def get_manage_url(self, appointment: Appointment) -> str:
        return absolute_url(manage_path(appointment.pk))


class FreeTimeOutput(serializers.Serializer):
    time = serializers.CharField(source="value")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    free = serializers.IntegerField()


class FreeDayOutput(serializers.Serializer):
    day = serializers.DateField()
    times = FreeTimeOutput(many=True)


class FreeTimesOutput(serializers.Serializer):
    place = serializers.CharField()
    days = FreeDayOutput(many=True)
    next_from = serializers.DateField(allow_null=True)


class BookInput(serializers.Serializer):
    time = serializers.CharField(max_length=40, help_text="A time from the free times, local: 2026-12-07T09:30")
    place = serializers.CharField(max_length=50, required=False, default="")


def _step(request: Request, item_id: int) -> WorkItem:
    try:
        return selectors.appointment_step_for_applicant(user=_me(request), work_item_id=item_id)
    except WorkItem.DoesNotExist as exc:
        raise Http404 from exc


def _offering(item: WorkItem, place: str) -> Offering:
    offerings = actions.offerings_for_step(item)
    if not offerings:
        raise BookingRefused(_("No place takes appointments for this step yet."))
    return next((o for o in offerings if o.place.code == place), offerings[0])


def _own(request: Request, appointment_id: int) -> Appointment:
    appointment = Appointment.objects.filter(person=_me(request), pk=appointment_id).first()
    if appointment is None:
        raise Http404
    return appointment


def _serialise(appointment_id: int) -> dict:
    appointment = Appointment.objects.select_related("offering__service", "offering__place", "application").get(
        pk=appointment_id
    )
    return dict(AppointmentOutput(appointment).data)


class MyAppointmentsApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    @extend_schema(operation_id="my_appointments_list", responses=AppointmentOutput(many=True), tags=["appointments"])
    def get(self, request: Request) -> Response:
        """My booked appointments that have not begun, soonest first."""
        queryset = (
            Appointment.objects.filter(person=_me(request), status__in=Appointment.ACTIVE, ends_at__gt=timezone.now())
            .select_related("offering__service", "offering__place", "application")
            .order_by("starts_at", "pk")
        )
        paginator: BasePagination = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(AppointmentOutput(page, many=True).data)


class StepFreeTimesApi(APIView):
    @extend_schema(
        operation_id="appointment_step_free_times",
        parameters=[
            OpenApiParameter("from", str, description="First day to look at (YYYY-MM-DD); today when left out"),
            OpenApiParameter("place", str, description="Place code; the first place when left out"),
        ],
        responses={200: FreeTimesOutput, 409: REFUSED},
        tags=["appointments"],
    )
    def get(self, request: Request, item_id: int) -> Response:
        """The next days with free times for an appointment step of my application (five days a page)."""
        item = _step(request, item_id)
        offering = _offering(item, request.query_params.get("place", ""))
        try:
            start = date.fromisoformat(request.query_params.get("from", ""))
        except ValueError:
            start = None
        page = free_page(offering, start=start)
        return Response(
            FreeTimesOutput({"place": offering.place.code, "days": page.days, "next_from": page.next_from}).data
        )


class StepBookApi(APIView):
    @extend_schema(
        operation_id="appointment_step_book",
        request=BookInput,
        responses={201: AppointmentOutput, 409: REFUSED},
        tags=["appointments"],
    )
    def post(self, request: Request, item_id: int) -> Response:
        """Books a time for an appointment step of my application (409: full, past, or already booked)."""
        item = _step(request, item_id)
        data = BookInput(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = actions.appointment_book(
            person=_me(request),
            offering=_offering(item, data.validated_data["place"]),
            starts_at=parse_time(data.validated_data["time"]),
            work_item=item,
        )
        return Response(_serialise(appointment.pk), status=status.HTTP_201_CREATED)


class RescheduleApi(APIView):
    @extend_schema(
        operation_id="appointment_reschedule",
        request=BookInput,
        responses={201: AppointmentOutput, 409: REFUSED},
        tags=["appointments"],
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        """Moves my appointment to another free time; the answer is the new booking."""
        appointment = _own(request, appointment_id)
        data = BookInput(data=request.data)
        data.is_valid(raise_exception=True)
        moved = actions.appointment_reschedule(
            appointment_id=appointment.pk, starts_at=parse_time(data.validated_data["time"])
        )
        return Response(_serialise(moved.pk), status=status.HTTP_201_CREATED)


class CancelApi(APIView):
    @extend_schema(
        operation_id="appointment_cancel",
        request=None,
        responses={200: AppointmentOutput, 409: REFUSED},
        tags=["appointments"],
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        """Cancels my appointment (409 when it was cancelled, moved or has begun)."""
        appointment = _own(request, appointment_id)
        actions.appointment_cancel(appointment_id=appointment.pk, reason=_("Cancelled by you"))
        return Response(_serialise(appointment.pk))
