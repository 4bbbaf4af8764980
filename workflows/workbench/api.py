"""Workbench API: the queue (same tabs, filters and keyset cursor as the page), claim, release,
decide and request a correction. Staff of a department only: anyone else gets 404; another
department's item is 404. Refused transitions answer 409 with the reason."""

from typing import cast

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import QUEUE_ROLES, SUPERVISOR_ROLES, has_role
from workflows.engine import actions as engine
from workflows.engine.actions import work_item_claim, work_item_release
from workflows.models import GroupDocument, TransferRequest, WorkItem
from workflows.workbench import access, selectors
from workflows.workbench.selectors import QueueFilters, Tab


class WorkItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    application_number = serializers.CharField(source="application.number")
    service = serializers.CharField(source="application.service.code")
    step_key = serializers.CharField()
    step_label = serializers.CharField(help_text="What the step is called, in the request's language.")
    round = serializers.IntegerField()
    department = serializers.CharField(source="department.code")
    status = serializers.CharField()
    applicant_name = serializers.CharField(source="application.applicant.name")
    applicant_id_number = serializers.SerializerMethodField(help_text="Always masked.")
    assignee = serializers.CharField(source="assignee.name", allow_null=True, default=None)
    statutory_due_at = serializers.DateTimeField(allow_null=True)
    clock_stopped_at = serializers.DateTimeField(allow_null=True)

    def get_applicant_id_number(self, item: WorkItem) -> str:
        return selectors.masked_id_number(getattr(item, "id_number", None))


class AnswerOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The data element's stable key.")
    label = serializers.CharField()  # type: ignore[assignment]  # the field "label", not Field.label
    section = serializers.CharField()
    value = serializers.CharField(source="shown", help_text="Protected values (resident ID, sensitive) masked.")
    masked = serializers.BooleanField()


class StepDocumentOutput(serializers.Serializer):
    id = serializers.IntegerField(source="document_id")
    document_type = serializers.CharField(source="document_type.code")
    name = serializers.CharField(source="document.display_name")
    url = serializers.SerializerMethodField(
        help_text="Opens the document (the opening is recorded); null until a virus scanner has passed it."
    )

    def get_url(self, attachment: GroupDocument) -> str | None:
        if not attachment.document.may_be_opened_by_staff:
            return None
        return reverse("workflows:workbench-document", args=[self.context["item_id"], attachment.document_id])


class WorkItemDetailOutput(WorkItemOutput):
    answers = AnswerOutput(many=True, help_text="Only the answers the step needs.")
    documents = StepDocumentOutput(many=True, help_text="Only the documents the step needs.")


REFUSED = OpenApiResponse(
    response=inline_serializer("Refusal", {"detail": serializers.CharField()}),
    description="Refused; nothing changed (already taken, not yours, already decided, withdrawn…).",
)


def _clerk(request: Request) -> User:
    user = cast(User, request.user)
    if not has_role(user, QUEUE_ROLES):
        raise NotFound
    return user


def _item(request: Request, item_id: int) -> WorkItem:
    clerk = _clerk(request)
    try:
        return selectors.work_item_for_clerk(clerk=clerk, work_item_id=item_id)
    except Http404:
        raise NotFound from None


def _item_response(request: Request, item_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(WorkItemOutput(_item(request, item_id)).data, status=code)


class QueueApi(APIView):
    class FilterInput(serializers.Serializer):
        tab = serializers.ChoiceField(choices=list(Tab.ALL), default=Tab.UNCLAIMED)
        q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
        service = serializers.CharField(required=False, allow_blank=True, default="")
        status = serializers.ChoiceField(
            choices=["", WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING],
            required=False,
            default="",
        )
        due_before = serializers.DateField(required=False, allow_null=True, default=None)
        after = serializers.CharField(required=False, allow_blank=True, default="")
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=selectors.PAGE_SIZE)

    @extend_schema(
        operation_id="workbench_queue",
        parameters=[
            OpenApiParameter("tab", OpenApiTypes.STR, enum=list(Tab.ALL)),
            OpenApiParameter("q", OpenApiTypes.STR, description="Application number, applicant name or ID number."),
            OpenApiParameter("service", OpenApiTypes.STR, description="Service code."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "claimed", "waiting"]),
            OpenApiParameter("due_before", OpenApiTypes.DATE),
            OpenApiParameter("after", OpenApiTypes.STR, description="The next_cursor of the previous page."),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses={
            200: inline_serializer(
                "QueuePage",
                {
                    "tab": serializers.CharField(),
                    "counts": serializers.DictField(
                        child=serializers.IntegerField(),
                        help_text=f"Each tab's count, at most {selectors.COUNT_CAP} (see `more`).",
                    ),
                    "more": serializers.DictField(
                        child=serializers.BooleanField(),
                        help_text=f"True for a tab holding more than {selectors.COUNT_CAP}: its count reads "
                        f"{selectors.COUNT_CAP}.",
                    ),
                    "next_cursor": serializers.CharField(allow_null=True),
                    "results": WorkItemOutput(many=True),
                },
            ),
            404: OpenApiResponse(description="Not a member of any department."),
        },
        tags=["workbench"],
    )
    def get(self, request: Request) -> Response:
        clerk = cast(User, request.user)
        # The clerk's departments, once per request: the membership check and the queue's scope.
        scope = selectors.queue_scope(user=clerk)
        if not scope.department_ids:
            raise NotFound
        data = self.FilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            page = selectors.work_items_for_clerk(
                clerk=clerk,
                scope=scope,
                tab=params["tab"],
                filters=QueueFilters(
                    q=params["q"], service=params["service"], status=params["status"], due_before=params["due_before"]
                ),
                after=params["after"] or None,
                limit=params["limit"],
            )
        except selectors.BadCursor:
            raise ValidationError({"after": ["This cursor is not valid; start from the first page."]}) from None
        access.queue_listed(accessor=clerk, items=page.items)
        return Response(
            {
                "tab": page.tab,
                "counts": page.counts,
                "more": page.more,
                "next_cursor": page.next_cursor,
                "results": WorkItemOutput(page.items, many=True).data,
            }
        )


class WorkItemDetailApi(APIView):
    @extend_schema(
        operation_id="workbench_item",
        responses={200: WorkItemDetailOutput, 404: OpenApiResponse(description="Not one of your departments' steps.")},
        tags=["workbench"],
        description="A step of one of your departments with the answers and documents its route says it needs "
        "(without a `needs`, all that its service's form asks). Recorded in the applicant's access log.",
    )
    def get(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        needs = selectors.step_needs(item)
        sections = selectors.applicant_sections(item.application, needs=needs)
        documents = selectors.application_documents(item.application, needs=needs)
        access.application_viewed(
            accessor=_clerk(request), work_item=item, visible=selectors.visible_on_page(sections, documents)
        )
        item.answers = [  # type: ignore[attr-defined]
            {"key": row.key, "label": row.label, "section": section.title, "shown": row.shown, "masked": row.masked}
            for section in sections
            for row in section.rows
        ]
        item.documents = documents  # type: ignore[attr-defined]
        return Response(WorkItemDetailOutput(item, context={"item_id": item.pk}).data)


class ClaimApi(APIView):
    @extend_schema(
        operation_id="workbench_claim", request=None, responses={200: WorkItemOutput, 409: REFUSED}, tags=["workbench"]
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        work_item_claim(work_item_id=item.pk, clerk=_clerk(request))
        return _item_response(request, item.pk)


class ReleaseApi(APIView):
    @extend_schema(
        operation_id="workbench_release",
        request=None,
        responses={200: WorkItemOutput, 409: REFUSED},
        tags=["workbench"],
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        work_item_release(work_item_id=item.pk, clerk=_clerk(request))
        return _item_response(request, item.pk)


class DecideApi(APIView):
    class DecideInput(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[WorkItem.Decision.APPROVED, WorkItem.Decision.REJECTED])
        reasons = serializers.ListField(
            child=serializers.CharField(max_length=1000), required=False, default=list,
            help_text="Shown to the applicant; at least one for a rejection.",
        )  # fmt: skip
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(
        operation_id="workbench_decide",
        request=DecideInput,
        responses={200: WorkItemOutput, 409: REFUSED},
        tags=["workbench"],
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        data = self.DecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        engine.work_item_decide(work_item_id=item.pk, actor=_clerk(request), **data.validated_data)
        return _item_response(request, item.pk)


class CorrectionApi(APIView):
    class CorrectionInput(serializers.Serializer):
        fields = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)  # type: ignore[assignment]
        materials = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
        message = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="workbench_request_correction",
        request=CorrectionInput,
        responses={200: WorkItemOutput, 409: REFUSED},
        tags=["workbench"],
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        data = self.CorrectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        engine.correction_request(work_item_id=item.pk, actor=_clerk(request), **data.validated_data)
        return _item_response(request, item.pk)


class TransferRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    work_item = serializers.IntegerField(source="work_item_id")
    application_number = serializers.CharField(source="work_item.application.number")
    step_label = serializers.CharField(source="work_item.step_label")
    from_department = serializers.CharField(source="work_item.department.code")
    to_department = serializers.CharField(source="to_department.code")
    reason = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.name")
    status = serializers.CharField()
    decision_note = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class TransferApi(APIView):
    class TransferInput(serializers.Serializer):
        department = serializers.CharField(max_length=64, help_text="The code of the department it goes to.")
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        operation_id="workbench_transfer",
        request=TransferInput,
        responses={
            200: OpenApiResponse(WorkItemOutput, description="Transferred: the step's new round, in that department."),
            202: OpenApiResponse(
                TransferRequestOutput,
                description="The route does not send the step there: a supervisor must approve; it stays with you.",
            ),
            409: REFUSED,
        },
        tags=["workbench"],
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _item(request, item_id)
        data = self.TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = engine.work_item_transfer(work_item_id=item.pk, actor=_clerk(request), **data.validated_data)
        if isinstance(outcome, TransferRequest):
            outcome.work_item = item  # with its application and department, as loaded for the check above
            return Response(TransferRequestOutput(outcome).data, status=status.HTTP_202_ACCEPTED)
        # The new round is in the other department: the caller may no longer see it.
        outcome.application = item.application
        return Response(WorkItemOutput(outcome).data)


def _supervisor(request: Request) -> User:
    user = cast(User, request.user)
    if not has_role(user, SUPERVISOR_ROLES):
        raise NotFound
    return user


class TransferRequestListApi(APIView):
    @extend_schema(
        operation_id="workbench_transfer_requests",
        responses={200: TransferRequestOutput(many=True), 404: OpenApiResponse(description="Not a supervisor.")},
        tags=["workbench"],
        description="Transfer requests of your departments waiting for your approval, oldest first.",
    )
    def get(self, request: Request) -> Response:
        supervisor = _supervisor(request)
        pending = selectors.transfer_requests_for_supervisor(supervisor=supervisor)[:200]
        return Response(TransferRequestOutput(pending, many=True).data)


class TransferRequestDecideApi(APIView):
    class DecisionInput(serializers.Serializer):
        decision = serializers.ChoiceField(choices=["approve", "decline"])
        note = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=1000, help_text="Needed to decline."
        )

    @extend_schema(
        operation_id="workbench_transfer_request_decide",
        request=DecisionInput,
        responses={200: TransferRequestOutput, 409: REFUSED},
        tags=["workbench"],
    )
    def post(self, request: Request, request_id: int) -> Response:
        supervisor = _supervisor(request)
        try:
            found = selectors.transfer_request_for_supervisor(supervisor=supervisor, request_id=request_id)
        except Http404:
            raise NotFound from None
        data = self.DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        engine.transfer_request_decide(
            request_id=found.pk,
            actor=supervisor,
            approve=data.validated_data["decision"] == "approve",
            note=data.validated_data["note"],
        )
        decided = selectors.transfer_request_for_supervisor(supervisor=supervisor, request_id=request_id)
        return Response(TransferRequestOutput(decided).data)
