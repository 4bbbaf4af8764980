"""The applicant's application pages: status, route with each department's clock, timeline,
correction call to action, decisions, certificate, withdrawal, ratings; and the bundle page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from documents.actions import document_upload
from documents.models import Certificate
from documents.selectors import reusable_documents
from documents.validation import UploadRejected
from lib.refusals import Refused
from services.fees import fee_quote
from services.models import DataElement, DocumentType
from workflows.delegation import acting
from workflows.engine.actions import application_withdraw, correction_answer
from workflows.models import Application, ApplicationEvent, ApplicationGroup, Rating, WorkItem
from workflows.progress import selectors
from workflows.progress.actions import RatingRefused, rateable_steps, rating_submit
from workflows.progress.diagram import application_picture
from workflows.progress.forms import ConfirmWithdrawForm, CorrectionForm, RatingForm
from workflows.progress.views import me


def _own_application(request: HttpRequest, number: str) -> Application:
    try:
        return selectors.application_for_applicant(user=me(request), number=number)
    except Application.DoesNotExist as exc:
        raise Http404 from exc


def application_context(application: Application) -> dict:
    now = timezone.now()
    steps = selectors.application_steps(application, now=now)
    correction_step = selectors.open_correction(steps)
    payment_step = next((s for s in steps if s.kind == WorkItem.Kind.PAYMENT and s.stopped), None)
    ratings = {r.step_key: r for r in Rating.objects.filter(application=application).select_related("follow_up")}
    decided = application.status in (Application.Status.APPROVED, Application.Status.REJECTED)
    rate_steps = rateable_steps(application) if decided else []
    return {
        "application": application,
        "steps": steps,
        "picture": application_picture(application, steps),
        "timeline": selectors.application_timeline(application, steps),
        "correction_step": correction_step,
        "payment_step": payment_step,
        "payment_due": fee_quote(application.service_version, application.data) if payment_step else None,
        "correction_deadline": selectors.correction_deadline(correction_step) if correction_step else None,
        "certificates": Certificate.objects.filter(application_number=application.number)
        .select_related("document__document_type", "issued_by")
        .order_by("issued_at"),
        "rejected_steps": [s for s in steps if s.state == selectors.StepState.REJECTED],
        "can_withdraw": not application.is_finished,
        "decided": decided,
        "overall_rating": ratings.get(""),
        "step_ratings": [(item, ratings.get(item.step_key)) for item in rate_steps] if len(rate_steps) > 1 else [],
        "in_bundle": application.group.number and application.group.applications.count() > 1,
        "now": now,
    }


@login_required
@require_GET
def application_detail(request: HttpRequest, number: str) -> HttpResponse:
    application = _own_application(request, number)
    acting.application_looked_at(user=me(request), application=application)
    return render(request, "workflows/progress/application_detail.html", application_context(application))


@login_required
@require_GET
def group_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        group = selectors.group_for_applicant(user=me(request), number=number)
    except ApplicationGroup.DoesNotExist as exc:
        raise Http404 from exc
    now = timezone.now()
    members = []
    for application in group.applications.all():
        steps = selectors.application_steps(application, now=now)
        members.append(
            {
                "application": application,
                "steps": steps,
                "picture": application_picture(application, steps),
                "correction_step": selectors.open_correction(steps),
            }
        )
    return render(request, "workflows/progress/group_detail.html", {"group": group, "members": members})


@login_required
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, number: str, step_key: str = "") -> HttpResponse:
    application = _own_application(request, number)
    step = None
    if step_key:
        step = next((item for item in rateable_steps(application) if item.step_key == step_key), None)
        if step is None:
            raise Http404
    existing = Rating.objects.filter(application=application, step_key=step_key).select_related("follow_up").first()
    refusal = ""
    if application.status not in (Application.Status.APPROVED, Application.Status.REJECTED):
        refusal = _("You can rate the service once a decision has been made on the application.")
    form = RatingForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and not refusal and existing is None:
        if form.is_valid():
            try:
                rating_submit(
                    applicant=me(request),
                    application=application,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    step_key=step_key,
                )
            except RatingRefused as refused:
                form.add_error(None, refused.message)
                status = 400
            else:
                messages.success(request, _("Thank you. Your rating has been recorded."))
                return redirect("workflows:progress-application", number=application.number)
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "workflows/progress/rate.html",
        {"application": application, "step": step, "form": form, "existing": existing, "refusal": refusal},
        status=status,
    )


def _pending_corrections(application: Application) -> list[WorkItem]:
    items = application.work_items.filter(
        status=WorkItem.Status.WAITING, decision=WorkItem.Decision.CORRECTION
    ).select_related("department")
    return [item for item in items if item.correction and not item.correction.get("answered_at")]


def _correction_form(request: HttpRequest, application: Application, pending: list[WorkItem]) -> CorrectionForm:
    keys = sorted({key for item in pending for key in item.correction.get("fields", [])})
    codes = sorted({code for item in pending for code in item.correction.get("materials", [])})
    elements = list(DataElement.objects.filter(key__in=keys).order_by("key"))
    known = {e.key for e in elements}
    document_types = list(DocumentType.objects.filter(code__in=codes).order_by("code"))
    vault = {t.code: list(reusable_documents(user=me(request), document_type=t)[:20]) for t in document_types}
    return CorrectionForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        elements=elements,
        unknown_keys=[k for k in keys if k not in known],
        current=application.data or {},
        document_types=document_types,
        vault=vault,
    )


@login_required
@require_http_methods(["GET", "POST"])
def correction(request: HttpRequest, number: str) -> HttpResponse:
    """Answer the correction request: only the requested fields and documents are editable."""
    application = _own_application(request, number)
    pending = _pending_corrections(application)
    if not pending:
        messages.info(request, _("No correction is waiting for your answer on this application."))
        return redirect("workflows:progress-application", number=application.number)
    form = _correction_form(request, application, pending)
    if request.method == "POST" and form.is_valid():
        documents: dict[str, int] = {}
        for name, document_type in form.document_types.items():
            upload = form.cleaned_data.get(f"upload-{document_type.code}")
            if upload:
                try:
                    document = document_upload(owner=me(request), document_type=document_type, uploaded_file=upload)
                except UploadRejected as rejected:
                    form.add_error(f"upload-{document_type.code}", str(rejected))
                    continue
                documents[document_type.code] = document.pk
            else:
                documents[document_type.code] = int(form.cleaned_data[name])
        if not form.errors:
            try:
                correction_answer(
                    application_id=application.pk, applicant=me(request), data=form.answers(), documents=documents
                )
            except Refused as refused:
                form.add_error(None, refused.message)
            else:
                return redirect("workflows:progress-correction-sent", number=application.number)
    return render(
        request,
        "workflows/progress/correction.html",
        {
            "application": application,
            "pending": pending,
            "form": form,
            "reach": selectors.correction_reach(application, pending),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def correction_sent(request: HttpRequest, number: str) -> HttpResponse:
    """The confirmation of the latest answer: which applications of the bundle took it too, and
    which had finished and were left as they were decided. Read from the answer's event, so a
    reload (or a second click on "Send corrections") shows the same and changes nothing."""
    application = _own_application(request, number)
    sent = (
        ApplicationEvent.objects.filter(application=application, kind=ApplicationEvent.Kind.CORRECTION_SUBMITTED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if sent is None:
        return redirect("workflows:progress-application", number=application.number)
    payload = sent.payload or {}
    lists = ("bundle_updated", "bundle_finished", "bundle_not_covered")
    siblings = {
        sibling.number: sibling
        for sibling in application.group.applications.filter(
            number__in=[number for name in lists for number in payload.get(name, [])]
        ).select_related("service")
    }
    return render(
        request,
        "workflows/progress/correction_sent.html",
        {
            "application": application,
            "sent": sent,
            "updated": [siblings[n] for n in payload.get("bundle_updated", []) if n in siblings],
            "finished": [siblings[n] for n in payload.get("bundle_finished", []) if n in siblings],
            "not_covered": [siblings[n] for n in payload.get("bundle_not_covered", []) if n in siblings],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, number: str) -> HttpResponse:
    application = _own_application(request, number)
    if application.is_finished:
        messages.info(request, _("This application is finished and can no longer be withdrawn."))
        return redirect("workflows:progress-application", number=application.number)
    form = ConfirmWithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            application_withdraw(application_id=application.pk, applicant=me(request))
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Your application has been withdrawn."))
            return redirect("workflows:progress-application", number=application.number)
    return render(
        request,
        "workflows/progress/withdraw.html",
        {"application": application, "form": form},
        status=400 if request.method == "POST" else 200,
    )
