"""Drafts API: create, read, update (field by field, with the revision) and list drafts;
attach a vault document; submit once with an `Idempotency-Key` header.

Every draft id of another person answers 404, exactly like an id that does not exist.
"""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.assurance import session_assurance
from accounts.requests import AuthenticatedApiRequest
from lib.serializers import OutputSerializer
from services.models import DocumentType, LifeEvent
from services.selectors import service_to_apply_for
from workflows.apply import actions, selectors
from workflows.models import ApplicationGroup

MISSING_SCHEMA = inline_serializer(
    "MissingItem",
    {
        "kind": serializers.CharField(),
        "label": serializers.CharField(),
        "reason": serializers.CharField(),
        "anchor": serializers.CharField(),
    },
)


def _missing(items: list[selectors.Missing]) -> list[dict[str, str]]:
    return [{"kind": m.kind, "label": m.label, "reason": m.reason, "anchor": m.anchor} for m in items]


class DraftOutput(OutputSerializer):
    """A draft (or a submitted group) as the applicant's client sees it."""

    id = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    life_event = serializers.CharField(source="life_event.code", allow_null=True, read_only=True)
    organisation = serializers.CharField(
        source="organisation.registration_number",
        allow_null=True,
        read_only=True,
        help_text="The unified social credit code of the organisation applied for; null for yourself.",
    )
    services = serializers.SerializerMethodField()
    revision = serializers.IntegerField()
    data = serializers.JSONField()  # type: ignore[assignment]  # the answers, {element key: value}
    changed_verified = serializers.JSONField()
    questions = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    missing = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()
    number = serializers.CharField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    applications = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _form(self, group: ApplicationGroup) -> selectors.MergedForm:
        # Several fields need the merged form; build it once per group.
        cache: dict[int, selectors.MergedForm] = self.__dict__.setdefault("_forms", {})
        if group.pk not in cache:
            cache[group.pk] = selectors.group_form(group)
        return cache[group.pk]

    def get_status(self, group: ApplicationGroup) -> str:
        return "draft" if group.is_draft else "submitted"

    def get_services(self, group: ApplicationGroup) -> list[dict[str, Any]]:
        return [
            {"code": v.service.code, "version": v.number, "status": v.status}
            for v in selectors.ordered_versions(group.versions.all(), group.life_event)
        ]

    def get_questions(self, group: ApplicationGroup) -> list[dict[str, Any]]:
        form = self._form(group)
        known = selectors.group_known_values(group, form)
        return [
            {
                "key": spec.key,
                "label": spec.element.label,
                "kind": spec.element.kind,
                "section": spec.section,
                "required": spec.required(group.data),
                "reuse": (known[spec.key].kind if spec.key in known else None),
                "verified": spec.key in known
                and known[spec.key].is_verified
                and group.data.get(spec.key) == known[spec.key].value,
                "services": [s.code for s in spec.services],
            }
            for spec in form.shown_fields(group.data)
        ]

    def get_documents(self, group: ApplicationGroup) -> list[dict[str, Any]]:
        form = self._form(group)
        attachments = selectors.attachments_by_type(group)
        return [
            {
                "document_type": m.code,
                "required": m.required(group.data),
                "document": attachments[m.document_type.pk].document_id if m.document_type.pk in attachments else None,
                "services": [s.code for s in m.services],
            }
            for m in form.shown_materials(group.data)
        ]

    def get_missing(self, group: ApplicationGroup) -> list[dict[str, str]]:
        if not group.is_draft:
            return []
        return _missing(selectors.group_missing(group, self._form(group)))

    def get_stale(self, group: ApplicationGroup) -> list[str]:
        return [v.service.code for v in selectors.stale_versions(group)] if group.is_draft else []

    def get_applications(self, group: ApplicationGroup) -> list[dict[str, Any]]:
        return [
            {
                "number": a.number,
                "service": a.service.code,
                "status": a.status,
                "statutory_due_at": a.statutory_due_at,
            }
            for a in group.applications.all()
        ]


class ReceiptApplication(OutputSerializer):
    number = serializers.CharField()
    service = serializers.CharField(source="service.code")
    status = serializers.CharField()
    statutory_due_at = serializers.DateTimeField()


class SubmitReceipt(OutputSerializer):
    """What a submit answers (first time and repeats alike): the group's number and its
    applications. The whole group stays at GET /api/drafts/{id}/."""

    id = serializers.IntegerField(source="group.pk")
    status = serializers.SerializerMethodField()
    number = serializers.CharField(source="group.number")
    submitted_at = serializers.DateTimeField(source="group.submitted_at")
    applications = ReceiptApplication(many=True)

    def get_status(self, outcome: actions.SubmitOutcome) -> str:
        return "submitted"


class DraftListItem(OutputSerializer):
    id = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    life_event = serializers.CharField(source="life_event.code", allow_null=True, read_only=True)
    services = serializers.SerializerMethodField()
    number = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, group: ApplicationGroup) -> str:
        return "draft" if group.is_draft else "submitted"

    def get_services(self, group: ApplicationGroup) -> list[str]:
        return sorted(v.service.code for v in group.versions.all())


def _draft_response(group: ApplicationGroup, code: int = status.HTTP_200_OK) -> Response:
    """The group an action returned, as loaded (under its lock): not loaded a second time."""
    return Response(_draft_body(group), status=code)


def _draft_body(group: ApplicationGroup) -> dict[str, Any]:
    serializer: serializers.Serializer = DraftOutput(group)
    return dict(serializer.data)


class DraftListApi(APIView):
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    class CreateInput(serializers.Serializer):
        service = serializers.SlugField(required=False, help_text="A service code (or give life_event).")
        life_event = serializers.SlugField(required=False, help_text="A life event code (or give service).")
        organisation = serializers.CharField(
            required=False,
            max_length=18,
            help_text="Apply on behalf of an organisation you represent: its unified social credit code.",
        )

        def validate(self, attrs: dict) -> dict:
            if bool(attrs.get("service")) == bool(attrs.get("life_event")):
                raise serializers.ValidationError("Give either a service or a life event.")
            return attrs

    @extend_schema(operation_id="drafts_list", responses=DraftListItem(many=True), tags=["applications"])
    def get(self, request: AuthenticatedApiRequest) -> Response:
        paginator = self.pagination_class()
        groups: QuerySet = selectors.groups_for_user(user=request.user)
        page = paginator.paginate_queryset(groups, request, view=self)
        return paginator.get_paginated_response(DraftListItem(page, many=True).data)

    @extend_schema(
        operation_id="drafts_create",
        request=CreateInput,
        responses={201: DraftOutput, 400: OpenApiResponse(description="Unknown or unavailable service.")},
        tags=["applications"],
        description="Starts a draft for one service or every service of a life event, prefilled with what is "
        "already known about you (verified profile, earlier approved applications).",
    )
    def post(self, request: AuthenticatedApiRequest) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = life_event = None
        if data.validated_data.get("service"):
            service = service_to_apply_for(data.validated_data["service"])
            if service is None:
                return Response({"service": ["Unknown service."]}, status=status.HTTP_400_BAD_REQUEST)
        else:
            life_event = LifeEvent.objects.filter(code=data.validated_data["life_event"]).first()
            if life_event is None:
                return Response({"life_event": ["Unknown life event."]}, status=status.HTTP_400_BAD_REQUEST)
        organisation = None
        if data.validated_data.get("organisation"):
            organisation = request.user.organisations.filter(
                registration_number=data.validated_data["organisation"]
            ).first()
            if organisation is None:
                return Response(
                    {"organisation": [_("You can only apply for an organisation you represent.")]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        try:
            group = actions.draft_start(
                applicant=request.user,
                service=service,
                life_event=life_event,
                organisation=organisation,
            )
        except actions.ServiceUnavailable as error:
            return Response({"detail": error.message}, status=status.HTTP_400_BAD_REQUEST)
        return _draft_response(group, status.HTTP_201_CREATED)


class DraftDetailApi(APIView):
    class UpdateInput(serializers.Serializer):
        revision = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="The revision you loaded. A field someone else changed since then (another tab) and you "
            "change too is a conflict (409) and is not overwritten; other fields are merged.",
        )
        data = serializers.DictField(  # type: ignore[assignment]
            help_text="{element key: value}; send only what you change."
        )

    @extend_schema(operation_id="drafts_read", responses=DraftOutput, tags=["applications"])
    def get(self, request: AuthenticatedApiRequest, group_id: int) -> Response:
        return _draft_response(selectors.group_for_user(user=request.user, group_id=group_id))

    @extend_schema(
        operation_id="drafts_update",
        request=UpdateInput,
        responses={
            200: DraftOutput,
            400: OpenApiResponse(
                description="Some values are not valid: {errors: {key: [messages]}}; valid ones saved."
            ),
            409: OpenApiResponse(description="Conflicts: {conflicts: {key: value stored now}}; others saved."),
        },
        tags=["applications"],
    )
    def patch(self, request: AuthenticatedApiRequest, group_id: int) -> Response:
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = actions.draft_save(
                applicant=request.user,
                group_id=group_id,
                values=data.validated_data["data"],
                base_revision=data.validated_data.get("revision"),
            )
        except actions.DraftAlreadySubmitted as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        body = _draft_body(result.group)
        if result.errors:
            return Response({**body, "errors": result.errors}, status=status.HTTP_400_BAD_REQUEST)
        if result.conflicts:
            return Response({**body, "conflicts": result.conflicts}, status=status.HTTP_409_CONFLICT)
        return Response(body)


class DraftDocumentApi(APIView):
    class AttachInput(serializers.Serializer):
        document_type = serializers.SlugField()
        document = serializers.IntegerField(help_text="The id of a document in your vault.")

    @extend_schema(
        operation_id="drafts_attach_document",
        request=AttachInput,
        responses={200: DraftOutput, 400: OpenApiResponse(description="The document cannot be used.")},
        tags=["applications"],
        description="Attaches a document of your vault for one required document type (upload new files "
        "through the vault API first).",
    )
    def post(self, request: AuthenticatedApiRequest, group_id: int) -> Response:
        data = self.AttachInput(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["document_type"]
        try:
            # By code: the action finds it among the draft's materials (404 if it is not one).
            attachment = actions.draft_attach_document(
                applicant=request.user,
                group_id=group_id,
                document_type=code,
                document_id=data.validated_data["document"],
            )
        except actions.AttachRefused as error:
            return Response({"document": [error.message]}, status=status.HTTP_400_BAD_REQUEST)
        except actions.DraftAlreadySubmitted as error:
            get_object_or_404(DocumentType, code=code)  # an unknown document type is 404 whatever the draft
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        return _draft_response(attachment.group)


class DraftSubmitApi(APIView):
    @extend_schema(
        operation_id="drafts_submit",
        request=None,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Any unique string (e.g. a UUID). Sending the same request again with the same key "
                "returns the same submission instead of a second one.",
            )
        ],
        responses={
            201: OpenApiResponse(SubmitReceipt, description="Submitted: the receipt."),
            200: OpenApiResponse(SubmitReceipt, description="Already submitted: the receipt of the first submission."),
            400: OpenApiResponse(description="Missing Idempotency-Key."),
            409: OpenApiResponse(description="Stale draft, or the key was used for another draft."),
            422: OpenApiResponse(description="Incomplete: {missing: [...]} lists what is still missing."),
            503: OpenApiResponse(description="The working-day calendar of a year the deadline reaches is missing."),
        },
        tags=["applications"],
    )
    def post(self, request: AuthenticatedApiRequest, group_id: int) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return Response({"detail": "Send an Idempotency-Key header."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            outcome = actions.group_submit(
                applicant=request.user,
                group_id=group_id,
                idempotency_key=key,
                assurance=session_assurance(request).level,
            )
        except actions.DraftIncomplete as error:
            return Response(
                {"detail": error.message, "missing": _missing(error.missing)},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        except actions.DraftStale as error:
            return Response(
                {"detail": error.message, "stale": [v.service.code for v in error.versions]},
                status=status.HTTP_409_CONFLICT,
            )
        except actions.IdempotencyKeyReused as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(SubmitReceipt(outcome).data, status=code)


class DraftMoveToCurrentApi(APIView):
    @extend_schema(
        operation_id="drafts_move_to_current",
        request=None,
        responses={200: DraftOutput, 409: OpenApiResponse(description="Submitted already, or no current version.")},
        tags=["applications"],
    )
    def post(self, request: AuthenticatedApiRequest, group_id: int) -> Response:
        try:
            group = actions.draft_move_to_current(applicant=request.user, group_id=group_id)
        except (actions.ServiceUnavailable, actions.DraftAlreadySubmitted) as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        return _draft_response(group)
