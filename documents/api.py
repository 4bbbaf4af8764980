"""Vault API: my documents only. Outsiders get 404 for every document id."""

from django.http import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import BasePagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.requests import AuthenticatedApiRequest
from documents.actions import DeletionRefused, document_delete, document_upload
from documents.delivery import file_response
from documents.selectors import applications_using, document_for_user, documents_for_user
from documents.uses import NOT_USED, uses_attach
from documents.validation import EXTENSIONS, UploadRejected
from lib.serializers import OutputSerializer
from services.models import DocumentType
from services.selectors import document_type_by_code


class DocumentOutput(OutputSerializer):
    id = serializers.IntegerField()
    document_type = serializers.CharField(source="document_type.code")
    display_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    scan_status = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    used_in = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_used_in(self, document) -> list[str]:
        return applications_using(document)

    def get_download_url(self, document) -> str:
        return reverse("documents-api:download", args=[document.pk])


class VaultListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class: type[BasePagination] = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]

    class UploadInput(serializers.Serializer):
        document_type = serializers.CharField(help_text="A document type's code.")
        file = serializers.FileField(allow_empty_file=True)

        def validate_document_type(self, code: str) -> DocumentType:
            # One compiled statement (services.selectors), not a queryset built for each upload.
            document_type = document_type_by_code(code)
            if document_type is None:
                raise serializers.ValidationError(f"Unknown document type “{code}”.")
            return document_type

    @extend_schema(operation_id="vault_list", responses=DocumentOutput(many=True), tags=["documents"])
    def get(self, request: AuthenticatedApiRequest) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(documents_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(DocumentOutput(uses_attach(page or []), many=True).data)

    @extend_schema(
        operation_id="vault_upload",
        request={"multipart/form-data": UploadInput},
        responses={
            201: DocumentOutput,
            200: DocumentOutput,
            400: OpenApiResponse(description="The file was refused; `file` says which rule it broke."),
            503: OpenApiResponse(description="The file cannot be checked for viruses now; nothing was stored."),
        },
        tags=["documents"],
        description="Uploads a document. The same bytes uploaded again for the same type return the existing "
        "document (200) instead of storing a copy.",
    )
    def post(self, request: AuthenticatedApiRequest) -> Response:
        data = self.UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        started = timezone.now()
        try:
            document = document_upload(
                owner=request.user,
                document_type=data.validated_data["document_type"],
                uploaded_file=data.validated_data["file"],
            )
        except UploadRejected as rejected:
            # 503 (try again later) when the scanner is missing or down; 400 when the file is refused.
            return Response({"file": rejected.messages}, status=rejected.status_code)
        created = document.created_at >= started  # an identical earlier upload is returned as it is
        if created:
            document.uses = NOT_USED  # type: ignore[attr-defined]  # nothing can use it yet: no look-up
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DocumentOutput(document).data, status=code)


class VaultDetailApi(APIView):
    @extend_schema(operation_id="vault_detail", responses=DocumentOutput, tags=["documents"])
    def get(self, request: AuthenticatedApiRequest, document_id: int) -> Response:
        document = document_for_user(user=request.user, document_id=document_id)
        return Response(DocumentOutput(document).data)

    @extend_schema(
        operation_id="vault_delete",
        responses={204: None, 409: OpenApiResponse(description="Attached to a submitted application.")},
        tags=["documents"],
    )
    def delete(self, request: AuthenticatedApiRequest, document_id: int) -> Response:
        document = document_for_user(user=request.user, document_id=document_id)
        try:
            document_delete(document=document, actor=request.user)
        except DeletionRefused as refused:
            return Response({"detail": refused.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VaultDownloadApi(APIView):
    @extend_schema(
        operation_id="vault_download",
        responses={(200, content_type): OpenApiTypes.BINARY for content_type in EXTENSIONS},
        tags=["documents"],
    )
    def get(self, request: AuthenticatedApiRequest, document_id: int) -> HttpResponseBase:
        document = document_for_user(user=request.user, document_id=document_id)
        return file_response(document, inline=False)
