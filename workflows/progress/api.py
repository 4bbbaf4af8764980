"""The progress API: my applications with clocks and timeline, notifications, ratings, my
data-access log, and the supervision figures. Thin: parse, call a selector or action, serialise.
Someone else's object answers 404."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from workflows.delegation import acting
from workflows.models import Application, DataAccessRecord, Notification, Rating
from workflows.progress import selectors
from workflows.progress.actions import (
    notification_mark_read,
    notifications_mark_all_read,
    rating_submit,
)
from workflows.progress.dashboard import NotASupervisor, Period, dashboard_for
from workflows.progress.forms import PeriodForm
from workflows.progress.views import me
from workflows.progress.views.access_log import describe


def _page(request: Request, view: APIView, queryset, serializer_class) -> Response:
    paginator: BasePagination = api_settings.DEFAULT_PAGINATION_CLASS()  # type: ignore[operator,misc]
    page: list | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ApplicationListItem(serializers.Serializer):
    number = serializers.CharField()
    service = serializers.CharField(source="service.name")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    group = serializers.CharField(source="group.number", allow_null=True)
    submitted_at = serializers.DateTimeField()
    statutory_due_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class StepOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    department = serializers.CharField(allow_null=True)
    department_name = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    working_days_left = serializers.IntegerField(allow_null=True)
    clock_stopped = serializers.BooleanField()
    overdue = serializers.BooleanField()
    finished_at = serializers.DateTimeField(allow_null=True)
    finished_on_time = serializers.BooleanField(allow_null=True)
    decision = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    # What a waiting step waits for (an appointment to book, or the booked time and place).
    waiting = serializers.CharField(allow_null=True, required=False)
    waiting_url = serializers.CharField(allow_null=True, required=False)


class TimelineOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()
    department = serializers.CharField()


class ApplicationDetailOutput(ApplicationListItem):
    steps = StepOutput(many=True)
    timeline = TimelineOutput(many=True)


class MyApplicationsApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    @extend_schema(operation_id="my_applications_list", responses=ApplicationListItem(many=True), tags=["progress"])
    def get(self, request: Request) -> Response:
        queryset = selectors.applications_for_applicant(user=me(request)).order_by("-submitted_at", "-id")
        return _page(request, self, queryset, ApplicationListItem)


class MyApplicationDetailApi(APIView):
    @extend_schema(operation_id="my_applications_read", responses=ApplicationDetailOutput, tags=["progress"])
    def get(self, request: Request, number: str) -> Response:
        try:
            application = selectors.application_for_applicant(user=me(request), number=number)
        except Application.DoesNotExist as exc:
            raise Http404 from exc
        acting.application_looked_at(user=me(request), application=application)
        steps = selectors.application_steps(application, now=timezone.now())
        application.steps = [step.as_dict() for step in steps]  # type: ignore[attr-defined]
        application.timeline = selectors.application_timeline(application, steps)  # type: ignore[attr-defined]
        return Response(ApplicationDetailOutput(application).data)


class NotificationOutput(serializers.ModelSerializer):
    application = serializers.CharField(source="application.number", allow_null=True, default=None)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event", "subject", "body", "link", "application", "created_at", "read_at", "read"]

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class NotificationListApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    class FilterInput(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        operation_id="notifications_list",
        parameters=[OpenApiParameter("unread", bool, description="Only unread messages")],
        responses=NotificationOutput(many=True),
        tags=["progress"],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)  # unread=maybe is a 400, not every message
        queryset = selectors.notifications_for(user=me(request))
        if filters.validated_data["unread"]:
            queryset = queryset.filter(read_at__isnull=True)
        return _page(request, self, queryset, NotificationOutput)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_mark_read", request=None, responses=NotificationOutput, tags=["progress"]
    )
    def post(self, request: Request, notification_id: int) -> Response:
        try:
            notification = notification_mark_read(user=me(request), notification_id=notification_id)
        except Notification.DoesNotExist as exc:
            raise Http404 from exc
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    class MarkedOutput(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(operation_id="notifications_mark_all_read", request=None, responses=MarkedOutput, tags=["progress"])
    def post(self, request: Request) -> Response:
        return Response({"marked": notifications_mark_all_read(user=me(request))})


class RatingOutput(serializers.ModelSerializer):
    application = serializers.CharField(source="application.number")
    department = serializers.CharField(source="department.code")
    follow_up = serializers.SerializerMethodField()

    class Meta:
        model = Rating
        fields = ["id", "application", "step_key", "department", "score", "comment", "created_at", "follow_up"]

    def get_follow_up(self, rating: Rating) -> dict | None:
        follow_up = getattr(rating, "follow_up", None)
        if follow_up is None:
            return None
        return {
            "status": follow_up.status,
            "due_at": follow_up.due_at.isoformat(),
            "outcome": follow_up.outcome,
            "handled_at": follow_up.handled_at.isoformat() if follow_up.handled_at else None,
        }


class RatingListApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    class Input(serializers.Serializer):
        application = serializers.CharField(help_text="Application number")
        step_key = serializers.CharField(required=False, allow_blank=True, default="")
        score = serializers.IntegerField(min_value=1, max_value=5)
        comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(operation_id="ratings_list", responses=RatingOutput(many=True), tags=["progress"])
    def get(self, request: Request) -> Response:
        return _page(request, self, selectors.ratings_for_applicant(user=me(request)), RatingOutput)

    @extend_schema(
        operation_id="ratings_create",
        request=Input,
        responses={
            201: RatingOutput,
            400: OpenApiResponse(description="Not decided, rated already, or bad score"),
            404: OpenApiResponse(description="No such application of yours."),
        },
        tags=["progress"],
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            application = selectors.application_for_applicant(
                user=me(request), number=data.validated_data["application"]
            )
        except Application.DoesNotExist as exc:
            raise Http404 from exc
        rating = rating_submit(
            applicant=me(request),
            application=application,
            score=data.validated_data["score"],
            comment=data.validated_data["comment"],
            step_key=data.validated_data["step_key"],
        )
        return Response(RatingOutput(rating).data, status=status.HTTP_201_CREATED)


class AccessRecordOutput(serializers.ModelSerializer):
    accessor = serializers.CharField(source="accessor.name")
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    application = serializers.CharField(source="application.number", allow_null=True, default=None)
    work_item = serializers.CharField(source="work_item.step_key", allow_null=True, default=None)
    description = serializers.SerializerMethodField()

    class Meta:
        model = DataAccessRecord
        fields = [
            "created_at",
            "accessor",
            "department",
            "what",
            "description",
            "field_key",
            "visible",
            "application",
            "work_item",
        ]

    def get_description(self, record: DataAccessRecord) -> str:
        return describe(record)


class MyAccessLogApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    @extend_schema(
        operation_id="my_access_log",
        parameters=[OpenApiParameter("application", str, description="Only this application number")],
        responses=AccessRecordOutput(many=True),
        tags=["progress"],
    )
    def get(self, request: Request) -> Response:
        number = request.query_params.get("application") or None
        records = selectors.access_records_for_applicant(user=me(request), application_number=number)
        return _page(request, self, records, AccessRecordOutput)


class DashboardApi(APIView):
    class DashboardOutput(serializers.Serializer):
        start = serializers.DateField()
        end = serializers.DateField()
        departments = serializers.ListField(child=serializers.CharField())
        backlog_total = serializers.IntegerField()
        # When the open-work counters were last refreshed; overdue is as of the request.
        backlog_as_of = serializers.DateTimeField(allow_null=True)
        overdue_total = serializers.IntegerField()
        waiting_for_applicant_total = serializers.IntegerField()
        overall = serializers.DictField()
        backlog = serializers.ListField(child=serializers.DictField())
        timeliness = serializers.ListField(child=serializers.DictField())
        incidents_open = serializers.IntegerField()
        ratings = serializers.DictField(child=serializers.IntegerField())
        ratings_average = serializers.FloatField(allow_null=True)
        follow_ups_open = serializers.IntegerField()
        once_only = serializers.DictField()

    @extend_schema(
        operation_id="supervision_dashboard",
        parameters=[OpenApiParameter("start", str), OpenApiParameter("end", str)],
        responses={
            200: DashboardOutput,
            400: OpenApiResponse(description="A bad period."),
            404: OpenApiResponse(description="Not a supervisor."),
        },
        tags=["supervision"],
    )
    def get(self, request: Request) -> Response:
        default = Period.default()
        form = PeriodForm(request.query_params or None, default_start=default.start, default_end=default.end)
        if request.query_params and not form.is_valid():
            return Response(form.errors, status=status.HTTP_400_BAD_REQUEST)
        cleaned = form.cleaned_data if form.is_bound else {}
        period = Period(cleaned.get("start") or default.start, cleaned.get("end") or default.end)
        try:
            board = dashboard_for(user=me(request), period=period)
        except NotASupervisor as exc:
            raise Http404 from exc
        return Response(
            self.DashboardOutput(
                {
                    "start": period.start,
                    "end": period.end,
                    "departments": [d.code for d in board.departments],
                    "backlog_total": board.backlog_total,
                    "backlog_as_of": board.backlog_as_of,
                    "overdue_total": board.overdue_total,
                    "waiting_for_applicant_total": board.waiting_for_applicant_total,
                    "overall": board.overall,
                    "backlog": board.backlog,
                    "timeliness": board.timeliness,
                    "incidents_open": board.incidents_open,
                    "ratings": {str(k): v for k, v in board.ratings.items()},
                    "ratings_average": board.ratings_average,
                    "follow_ups_open": board.follow_ups_open,
                    "once_only": board.once_only,
                }
            ).data
        )
