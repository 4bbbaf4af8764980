"""The vault pages (signed-in citizens) and the public certificate check."""

import datetime
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.requests import AuthenticatedRequest
from documents.actions import DeletionRefused, document_delete, document_upload
from documents.certificates import format_code, mask_name
from documents.delivery import file_response
from documents.forms import UploadForm, VerifyForm
from documents.models import Document
from documents.previews import preview_image_response
from documents.selectors import (
    applications_using,
    certificate_by_code,
    document_for_user,
    documents_for_user,
    is_attached_to_draft,
)
from documents.uses import uses_attach
from documents.validation import UploadRejected, limits_text

PAGE_SIZE = 20
EXPIRES_SOON_DAYS = 30


def validity_of(document: Document, today: datetime.date) -> tuple[str, str]:
    """("valid" | "soon" | "expired" | "revoked", text) for the vault's validity column."""
    certificate = getattr(document, "certificate", None) if document.source == Document.Source.ISSUED else None
    if certificate is not None and certificate.revoked_at is not None:
        return "revoked", _("Revoked")
    if document.valid_until is None:
        return "valid", _("Valid, no expiry date")
    if document.valid_until < today:
        return "expired", _("Expired on %(date)s") % {"date": date_format(document.valid_until, "DATE_FORMAT")}
    if document.valid_until <= today + datetime.timedelta(days=EXPIRES_SOON_DAYS):
        return "soon", _("Expires soon, on %(date)s") % {"date": date_format(document.valid_until, "DATE_FORMAT")}
    return "valid", _("Valid until %(date)s") % {"date": date_format(document.valid_until, "DATE_FORMAT")}


def _vault_page(request: AuthenticatedRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    queryset = documents_for_user(user=request.user).select_related("certificate")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = []
    for document in uses_attach(page.object_list):
        state, validity = validity_of(document, today)
        rows.append(
            {
                "document": document,
                "validity_state": state,
                "validity": validity,
                "used_in": applications_using(document),
                "in_draft": is_attached_to_draft(document),
            }
        )
    # What each type of document may be, said before anything is uploaded.
    choices = cast(ModelChoiceField, form.fields["document_type"]).queryset
    type_limits = [(choice.name, limits_text(choice)) for choice in choices or []]
    context = {"form": form, "page": page, "rows": rows, "type_limits": type_limits}
    return render(request, "documents/vault.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def vault(request: AuthenticatedRequest) -> HttpResponse:
    if request.method != "POST":
        return _vault_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            document = document_upload(
                owner=request.user,
                document_type=form.cleaned_data["document_type"],
                uploaded_file=form.cleaned_data["file"],
            )
        except UploadRejected as rejected:
            form.add_error("file", rejected.messages[0])
            status = rejected.status_code
        else:
            messages.success(request, _("“%(name)s” is in your document vault.") % {"name": document.display_name})
            return redirect("documents:vault")
    return _vault_page(request, form, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete(request: AuthenticatedRequest, document_id: int) -> HttpResponse:
    document = document_for_user(user=request.user, document_id=document_id)
    error = ""
    if request.method == "POST":
        try:
            document_delete(document=document, actor=request.user)
        except DeletionRefused as refused:
            error = refused.messages[0]
        else:
            messages.success(request, _("“%(name)s” has been deleted.") % {"name": document.display_name})
            return redirect("documents:vault")
    context = {
        "document": document,
        "used_in": applications_using(document),
        "in_draft": is_attached_to_draft(document),
        "error": error,
    }
    return render(request, "documents/delete.html", context, status=409 if error else 200)


@login_required
@require_GET
def download(request: AuthenticatedRequest, document_id: int) -> HttpResponseBase:
    document = document_for_user(user=request.user, document_id=document_id)
    return file_response(document, inline=request.GET.get("view") == "1")


@login_required
@require_GET
def preview(request: AuthenticatedRequest, document_id: int) -> HttpResponseBase:
    """The first page of one of my documents as an image, drawn from the rendition."""
    document = document_for_user(user=request.user, document_id=document_id)
    return preview_image_response(document)


@require_http_methods(["GET"])
def verify_start(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.GET if "code" in request.GET else None)
    if form.is_bound and form.is_valid():
        code = "".join(ch for ch in form.cleaned_data["code"].upper() if ch.isalnum())
        return redirect("documents:verify", code=code or "-")
    return render(request, "documents/verify_start.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    certificate = certificate_by_code(code=code)
    if certificate is None:
        form = VerifyForm(initial={"code": code[:40]})
        return render(request, "documents/verify_unknown.html", {"form": form, "code": code[:40]}, status=404)
    document_type = certificate.document_type or certificate.document.document_type
    context = {
        "certificate": certificate,
        "code": format_code(certificate.verification_code),
        "document_type": document_type,
        "holder": mask_name(certificate.holder_name),
        "expired": bool(certificate.document.valid_until and certificate.document.valid_until < timezone.localdate()),
        "valid_until": certificate.document.valid_until,
        "verify_url": reverse("documents:verify_start"),
    }
    return render(request, "documents/verify.html", context)
