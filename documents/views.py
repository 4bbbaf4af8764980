"""The vault pages (signed-in citizens) and the public certificate check."""

import datetime
import logging
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.limits import over_limit
from accounts.requests import AuthenticatedRequest
from documents.actions import DeletionRefused, document_delete, document_upload
from documents.certificates import format_code, mask_name
from documents.delivery import file_response
from documents.forms import UploadForm, VerifyForm, VerifyUploadForm
from documents.models import Document
from documents.previews import preview_image_response
from documents.selectors import (
    applications_using,
    certificate_by_code,
    document_for_user,
    documents_for_user,
    is_attached_to_draft,
)
from documents.signing import certificate_signer
from documents.uses import uses_attach
from documents.validation import UploadRejected, limits_text
from documents.verification import certificate_file_check

logger = logging.getLogger(__name__)

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
    context = {"form": form, "upload_form": VerifyUploadForm()}
    return render(request, "documents/verify_start.html", context, status=400 if form.errors else 200)


@require_POST
def verify_upload(request: HttpRequest) -> HttpResponse:
    """Checks an uploaded certificate file: signature, timestamp, revocation, unchanged."""
    form = VerifyUploadForm(request.POST, request.FILES)
    status = 400
    address = request.META.get("REMOTE_ADDR", "")
    if over_limit(f"verify-upload:{address}", limit=settings.VERIFY_UPLOADS_PER_HOUR, window=3600):
        logger.warning("certificate file check refused: too many uploads address=%s", address)
        form.is_valid()
        form.errors.clear()  # the file is not looked at
        form.add_error(None, _("You have checked many files in a short time. Wait an hour and try again."))
        status = 429
    elif form.is_valid():
        try:
            check = certificate_file_check(uploaded_file=form.cleaned_data["file"])
        except UploadRejected as rejected:
            form.add_error("file", rejected.messages[0])
        else:
            certificate = check.certificate
            context = {
                "check": check,
                "finding": str(check.finding),
                "verdict": check.verdict,
                "certificate": certificate,
                "code": format_code(certificate.verification_code) if certificate else "",
                "document_type": (certificate.document_type or certificate.document.document_type)
                if certificate
                else None,
                "upload_form": VerifyUploadForm(),
            }
            return render(request, "documents/verify_file.html", context)
    context = {"form": VerifyForm(), "upload_form": form}
    return render(request, "documents/verify_start.html", context, status=status)


@require_GET
def revocation_list(request: HttpRequest, label: str) -> HttpResponse:
    """The current revocation list (DER) of a CA we publish, named in our signing certificates."""
    crl = certificate_signer().revocation_list(label)
    if crl is None:
        raise Http404
    response = HttpResponse(crl, content_type="application/pkix-crl")
    response["Cache-Control"] = "public, max-age=300"
    return response


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
