"""HTML pages for applying once: start, the steps of the merged form, documents, review,
submit, receipt, and "My applications". Thin: parse, call one action or selector, render."""

import logging
import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.assurance import Level, session_assurance, step_up_url
from accounts.models import User
from accounts.requests import AuthenticatedRequest
from documents.validation import UploadRejected, UploadUnavailable
from lib.text import join_names
from services.conditions import elements_named
from services.fees import fees_of
from services.models import LifeEvent, Service
from services.selectors import current_version, life_event_versions
from workflows.apply import actions, forms, selectors
from workflows.apply.actions.identity import bound_values
from workflows.delegation import acting
from workflows.models import ApplicationGroup, Offer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    slug: str  # "section-1" … "materials", "review"
    title: str
    url: str
    # The task list's status: "completed", "in_progress", "not_started", "cannot_start", or ""
    # (documents: their own page says what is missing).
    status: str = ""


def _section_status(section: selectors.Section, data: dict) -> str:
    """From the answers alone (no query): nothing answered, a required answer still missing, or done."""
    shown = section.shown_fields(data)
    empty = [spec for spec in shown if data.get(spec.key) in (None, "", [])]
    if len(empty) == len(shown):
        return "not_started"
    return "in_progress" if any(spec.required(data) for spec in empty) else "completed"


def _revealing(section: selectors.Section) -> set[str]:
    """The input names of this section's questions that decide whether another of its questions is
    asked, or who a role's questions are about (their values then come from the registers)."""
    named = set().union(*(elements_named(o.when) for spec in section.fields for o in spec.occurrences))
    named |= {spec.role.question for spec in section.fields if spec.role is not None}
    return {spec.name for spec in section.fields if spec.key in named}


def _steps(group: ApplicationGroup, form: selectors.MergedForm) -> list[Step]:
    steps = [
        Step(
            f"section-{i}",
            section.title,
            reverse("workflows:apply-section", args=[group.pk, i]),
            _section_status(section, group.data),
        )
        for i, section in enumerate(form.sections, start=1)
        if section.shown_fields(group.data)
    ]
    if form.shown_materials(group.data):
        steps.append(Step("materials", _("Documents"), reverse("workflows:apply-materials", args=[group.pk])))
    answered = all(step.status == "completed" for step in steps if step.status)
    review_status = "not_started" if answered else "cannot_start"
    review = reverse("workflows:apply-review", args=[group.pk])
    steps.append(Step("review", _("Check and submit"), review, review_status))
    return steps


def _after(steps: list[Step], slug: str) -> Step:
    slugs = [s.slug for s in steps]
    index = slugs.index(slug) if slug in slugs else -1
    return steps[min(index + 1, len(steps) - 1)]


def _title(group: ApplicationGroup) -> str:
    if group.life_event is not None:
        return str(group.life_event.name)
    return join_names(v.service.name for v in group.versions.all())


def _context(group: ApplicationGroup, form: selectors.MergedForm, current: str, **extra) -> dict:
    steps = _steps(group, form)
    slugs = [s.slug for s in steps]
    return {
        "group": group,
        "title": _title(group),
        "steps": steps,
        "current": current,
        "step_number": slugs.index(current) + 1 if current in slugs else None,
        "stale": selectors.stale_versions(group),
        **extra,
    }


def _applicant(request: AuthenticatedRequest) -> User:
    """Whose drafts these pages work on: the principal while acting under a mandate, else oneself."""
    return acting.applicant_of(request)


def _draft(request: AuthenticatedRequest, group_id: int) -> ApplicationGroup:
    """The draft, scoped to the applicant; while acting, only one the mandate covers (404 otherwise).
    A delegate's look at the principal's draft is recorded in the principal's access log."""
    group = selectors.group_for_user(user=_applicant(request), group_id=group_id)
    mandate = acting.acting_mandate(request)
    if mandate is not None:
        if not acting.covers_group(mandate, group):
            raise Http404
        if request.method == "GET":
            acting.delegate_viewed(mandate=mandate, group=group)
    return group


# --- Start --------------------------------------------------------------------------------


def _start_page(request: AuthenticatedRequest, *, service: Service | None, life_event: LifeEvent | None, versions):
    applicant = _applicant(request)
    mandate = acting.acting_mandate(request)
    form = selectors.merged_form(versions)
    known = selectors.known_values(user=applicant, keys=[spec.key for spec in form.fields])
    vault = selectors.reusable_documents_by_type(
        user=applicant,
        document_types=[m.document_type for m in form.materials],
    )
    # Acting for a person: for that person only (their organisations are theirs to act for).
    organisations = [] if mandate is not None else list(request.user.organisations.order_by("name"))
    on_behalf_error = ""
    not_covered = mandate is not None and not acting.covers_services(mandate, [v.service_id for v in versions])
    if not_covered and request.method == "POST":
        messages.error(
            request,
            _("Your mandate from %(name)s does not cover this service. Switch back to yourself to apply for yourself.")
            % {"name": mandate.principal.name},  # type: ignore[union-attr]
        )
        return redirect(request.path)
    if request.method == "POST":
        on_behalf = request.POST.get("on_behalf", "")
        organisation = next((o for o in organisations if str(o.pk) == on_behalf), None)
        if on_behalf and organisation is None:
            on_behalf_error = _("Choose yourself or one of the organisations you represent.")
        else:
            try:
                group = actions.draft_start(
                    applicant=applicant,
                    service=service,
                    life_event=life_event,
                    organisation=organisation,
                    mandate=mandate,
                )
            except actions.ServiceUnavailable as error:
                messages.error(request, error.message)
                return redirect("workflows:apply-list")
            except actions.NotARepresentative as error:
                on_behalf_error = error.message
            else:
                # A new draft opens on its first step, so the applicant sees what was filled in for them.
                return redirect(_steps(group, selectors.group_form(group))[0].url)
    needed = selectors.needed_assurance(versions)
    return render(
        request,
        "workflows/apply/start.html",
        {
            "needed_level": needed,
            "step_up_link": None
            if session_assurance(request).level.covers(needed)
            else step_up_url(needed, request.get_full_path()),
            "service": service,
            "life_event": life_event,
            "title": life_event.name if life_event else service.name,  # type: ignore[union-attr]
            "versions": versions,
            "form": form,
            "known_count": len(known),
            "field_count": len(form.fields),
            "materials": [(m, vault.get(m.document_type.pk, [])) for m in form.materials],
            "existing": selectors.open_draft_for(user=applicant, service=service, life_event=life_event),
            "not_covered": not_covered,
            "organisations": organisations,
            "on_behalf": request.POST.get("on_behalf", "") if request.method == "POST" else "",
            "on_behalf_error": on_behalf_error,
        },
        status=400 if on_behalf_error else 200,
    )


@login_required
def start_service(request: AuthenticatedRequest, code: str) -> HttpResponse:
    service = get_object_or_404(Service, code=code)
    version = current_version(service)
    if version is None:
        raise Http404
    return _start_page(request, service=service, life_event=None, versions=[version])


@login_required
def start_life_event(request: AuthenticatedRequest, code: str) -> HttpResponse:
    life_event = get_object_or_404(LifeEvent.objects.prefetch_related("entries__service"), code=code)
    versions = life_event_versions(life_event)
    if not versions:
        raise Http404
    return _start_page(request, service=None, life_event=life_event, versions=versions)


# --- My applications ----------------------------------------------------------------------


@login_required
def application_list(request: AuthenticatedRequest) -> HttpResponse:
    mandate = acting.acting_mandate(request)
    groups = list(selectors.groups_for_user(user=_applicant(request)))
    if mandate is not None:
        # Acting for a person: only what the mandate covers.
        groups = [g for g in groups if acting.covers_group(mandate, g)]
    return render(
        request,
        "workflows/apply/list.html",
        {
            "drafts": [g for g in groups if g.is_draft],
            "submitted": [g for g in groups if not g.is_draft],
            "colleagues": []
            if mandate is not None
            else list(selectors.organisation_groups_for_user(user=request.user)),
            # Proactive offers are the person's own: never shown to someone acting for them.
            "offers": [] if mandate is not None else list(Offer.objects.shown_to(request.user)),
        },
    )


@login_required
def resume(request: AuthenticatedRequest, group_id: int) -> HttpResponse:
    """Where to continue: the receipt of a submitted group, else the first step with something missing."""
    group = _draft(request, group_id)
    if not group.is_draft:
        return redirect("workflows:apply-receipt", group.pk)
    form = selectors.group_form(group)
    missing = selectors.group_missing(group, form)
    steps = _steps(group, form)
    if missing:
        return redirect(next(s.url for s in steps if s.slug == missing[0].step))
    return redirect(steps[-1].url)


# --- The merged form, one section per page ------------------------------------------------


@login_required
def section(request: AuthenticatedRequest, group_id: int, index: int) -> HttpResponse:
    group = _draft(request, group_id)
    if not group.is_draft:
        return redirect("workflows:apply-receipt", group.pk)
    form = selectors.group_form(group)
    if not 1 <= index <= len(form.sections):
        raise Http404
    part = form.sections[index - 1]
    slug = f"section-{index}"
    typed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    conflicts: dict[str, str] = {}
    rendered_keys = {spec.key for spec in part.shown_fields(group.data)}
    # Came from "Change" on check-your-answers: saving goes back there, not through later pages.
    returning = (request.POST if request.method == "POST" else request.GET).get("change") == "1"
    if request.method == "POST" and request.POST.get("preview") == "1":
        # Revealing in place (htmx, on each change): which questions the answers typed so far
        # open up. Nothing is saved and nothing is refused; what was typed is shown as typed.
        values, _bases = forms.posted_answers(request.POST, part.fields)
        # A value the previous preview filled in (marked given__) was not typed: it goes with its role.
        values = {
            spec.key: values[spec.key]
            for spec in part.fields
            if spec.key in values and f"given__{spec.name}" not in request.POST
        }
        previewed = forms.previewed_data(group.data, values, part.fields)
        # What those answers give ("I am the mother": her verified details; an age from an ID
        # number) is shown at once, read-only and marked, so it is never typed meanwhile.
        given = selectors.given_values(form=form, data=previewed, verified=selectors.group_verified_values(group, form))
        previewed.update((key, reuse.value) for key, reuse in given.items())
        question_views = forms.questions(
            specs=part.shown_fields(previewed),
            data=group.data,
            known={**selectors.group_known_values(group, form), **given},
            flagged=group.changed_verified,
            typed=values,
            errors={},
        )
        for view in question_views:
            if view.spec.key in given:
                view.value = forms.as_input(view.element, given[view.spec.key].value)
                view.given = True
                view.bound = view.bound or view.spec.is_bound(previewed)
        context = _context(
            group, form, slug, section=part, index=index, questions=question_views, returning=returning,
            revealing=_revealing(part),
        )  # fmt: skip
        return render(request, "workflows/apply/section.html", context)
    if request.method == "POST":
        values, bases = forms.posted_answers(request.POST, part.fields)
        # The page as the applicant saw it: with the questions an answer opened up in place.
        rendered_keys |= set(values)
        try:
            base_revision = int(request.POST.get("base_revision", ""))
        except ValueError:
            base_revision = None
        try:
            result = actions.draft_save(
                applicant=_applicant(request),
                group_id=group.pk,
                values=values,
                base_revision=base_revision,
                base_values=bases,
            )
        except actions.DraftAlreadySubmitted as error:
            messages.error(request, error.message)
            return redirect("workflows:apply-receipt", group.pk)
        group = _draft(request, group.pk)
        shown_now = {spec.key for spec in part.shown_fields(group.data)}
        later = "later" in request.POST
        # "Save and continue" checks this page's required questions now, not only at the end;
        # what was given is saved either way.
        unanswered = {} if later or not result.ok else forms.unanswered(part.shown_fields(group.data), group.data)
        if result.ok and shown_now <= rendered_keys and not unanswered:
            if later:
                messages.success(request, _("Your answers are saved. You can continue at any time."))
                return redirect("workflows:apply-list")
            if returning:
                return redirect("workflows:apply-review", group.pk)
            return redirect(_after(_steps(group, form), slug).url)
        # Show the page again: with the errors, or with the questions an answer just opened up.
        errors = {**result.errors, **(unanswered if shown_now <= rendered_keys else {})}
        for key, theirs in result.conflicts.items():
            spec = form.field(key)
            if spec is not None:
                conflicts[key] = forms.conflict_message(spec.element, theirs)
        typed = {key: values[key] for key in [*errors, *conflicts] if key in values}
        if result.ok and not errors:
            messages.info(request, _("Your answers need a few more details. The new questions are below."))
    known = selectors.group_known_values(group, form)
    all_errors = {**errors, **{key: [message] for key, message in conflicts.items()}}
    question_views = forms.questions(
        specs=part.shown_fields(group.data),
        data=group.data,
        known=known,
        flagged=group.changed_verified,
        typed=typed,
        errors=all_errors,
    )
    status = 200 if not all_errors else 400
    context = _context(
        group,
        form,
        slug,
        section=part,
        index=index,
        questions=question_views,
        has_errors=bool(all_errors),
        returning=returning,
        revealing=_revealing(part),
    )
    return render(request, "workflows/apply/section.html", context, status=status)


# --- Documents ----------------------------------------------------------------------------


@login_required
def materials(request: AuthenticatedRequest, group_id: int) -> HttpResponse:
    group = _draft(request, group_id)
    if not group.is_draft:
        return redirect("workflows:apply-receipt", group.pk)
    form = selectors.group_form(group)
    shown = form.shown_materials(group.data)
    errors: dict[int, list[str]] = {}
    status = 400
    if request.method == "POST":
        for spec in shown:
            document_type = spec.document_type
            upload = request.FILES.get(f"{spec.name}__file")
            choice = request.POST.get(spec.name, "")
            try:
                if upload is not None:
                    actions.draft_upload_document(
                        applicant=_applicant(request),
                        group_id=group.pk,
                        document_type=document_type,
                        uploaded_file=upload,
                    )
                elif choice and choice != "new":
                    actions.draft_attach_document(
                        applicant=_applicant(request),
                        group_id=group.pk,
                        document_type=document_type,
                        document_id=choice,
                    )
                elif choice == "new":
                    errors[document_type.pk] = [_("Choose a file to upload.")]
            except (UploadRejected, actions.AttachRefused) as error:
                errors[document_type.pk] = [_refusal(error)]
                if isinstance(error, UploadUnavailable):
                    status = 503  # the scanner is missing or down: the draft keeps its place
            except actions.DraftAlreadySubmitted:
                return redirect("workflows:apply-receipt", group.pk)
        if not errors:
            if "later" in request.POST:
                messages.success(request, _("Your answers are saved. You can continue at any time."))
                return redirect("workflows:apply-list")
            return redirect("workflows:apply-review", group.pk)
        group = _draft(request, group.pk)
    attachments = selectors.attachments_by_type(group)
    vault = selectors.reusable_documents_by_type(
        user=_applicant(request),
        document_types=[m.document_type for m in shown],
    )
    views = [
        forms.MaterialView(
            spec=spec,
            required=spec.required(group.data),
            documents=vault.get(spec.document_type.pk, []),
            attached=attachments[spec.document_type.pk].document if spec.document_type.pk in attachments else None,
            errors=errors.get(spec.document_type.pk, []),
        )
        for spec in shown
    ]
    context = _context(group, form, "materials", materials=views, has_errors=bool(errors))
    return render(request, "workflows/apply/materials.html", context, status=status if errors else 200)


def _refusal(error: UploadRejected | actions.AttachRefused) -> str:
    if isinstance(error, actions.ApplyError):
        return error.message
    return " ".join(error.messages)


# --- Review, submit, receipt --------------------------------------------------------------


def _review_rows(group: ApplicationGroup, form: selectors.MergedForm, user) -> list[dict]:
    known = selectors.group_known_values(group, form)
    sections = []
    for index, part in enumerate(form.sections, start=1):
        shown = part.shown_fields(group.data)
        if not shown:
            continue
        rows = forms.questions(specs=shown, data=group.data, known=known, flagged=group.changed_verified)
        sections.append({"section": part, "index": index, "rows": rows})
    return sections


def _step_up(request: AuthenticatedRequest, group: ApplicationGroup, form: selectors.MergedForm) -> dict | None:
    """What the person must do before they can submit: sign in at a higher level (national eID),
    or bring a verified identity the form's bound fields need. None when nothing is needed."""
    needed = selectors.needed_assurance(group.versions.all())
    try:
        bound_values(form.shown_fields(group.data), selectors.group_verified_values(group, form))
        identity_missing = False
    except actions.IdentityNotVerified:
        identity_missing = True
        if not needed.covers(Level.SUBSTANTIAL):
            needed = Level.SUBSTANTIAL  # national eID brings a verified identity
    if session_assurance(request).level.covers(needed) and not identity_missing:
        return None
    return {"level": needed, "url": step_up_url(needed, request.get_full_path()), "identity_missing": identity_missing}


@login_required
def review(request: AuthenticatedRequest, group_id: int, *, missing=None, status: int = 200) -> HttpResponse:
    group = _draft(request, group_id)
    if not group.is_draft:
        return redirect("workflows:apply-receipt", group.pk)
    form = selectors.group_form(group)
    attachments = selectors.attachments_by_type(group)
    steps = _steps(group, form)
    step_urls = {s.slug: s.url for s in steps}
    missing = missing if missing is not None else selectors.group_missing(group, form)
    context = _context(
        group,
        form,
        "review",
        sections=_review_rows(group, form, _applicant(request)),
        documents=[(m, attachments.get(m.document_type.pk)) for m in form.shown_materials(group.data)],
        missing=[(item, step_urls.get(item.step, "")) for item in missing],
        token=uuid.uuid4().hex,
        step_up=_step_up(request, group, form),
        prepare_only=_prepare_only(request),
        fee_quotes=fees_of(group.versions.select_related("service"), group.data),
    )
    return render(request, "workflows/apply/review.html", context, status=status)


def _prepare_only(request: AuthenticatedRequest) -> bool:
    mandate = acting.acting_mandate(request)
    return mandate is not None and not mandate.may_submit


@login_required
@require_POST
def submit(request: AuthenticatedRequest, group_id: int) -> HttpResponse:
    if acting.acting_mandate(request) is not None:
        group = _draft(request, group_id)  # 404 outside the mandate's scope
    if _prepare_only(request):
        logger.info("submit refused group=%s delegate=%s reason=prepare-only", group.pk, request.user.pk)
        messages.error(
            request,
            _("Your mandate lets you prepare this application, not submit it. %(name)s can submit it themselves.")
            % {"name": group.applicant.name},
        )
        return redirect("workflows:apply-review", group.pk)
    token = request.POST.get("token", "").strip()
    if not token:
        messages.error(request, _("Your submission could not be confirmed. Check your answers and submit again."))
        return redirect("workflows:apply-review", group_id)
    try:
        outcome = actions.group_submit(
            applicant=_applicant(request),
            group_id=group_id,
            idempotency_key=f"html-{token}",
            assurance=session_assurance(request).level,
            actor=request.user,
        )
    except actions.DraftIncomplete as error:
        return review(request, group_id, missing=error.missing, status=400)
    except (
        actions.DraftStale,
        actions.IdempotencyKeyReused,
        actions.CalendarNotReady,
        actions.IdentityNotVerified,
        actions.AssuranceTooLow,
    ) as error:
        messages.error(request, error.message)
        return redirect("workflows:apply-review", group_id)
    return redirect("workflows:apply-receipt", outcome.group.pk)


@login_required
@require_POST
def move_to_current(request: AuthenticatedRequest, group_id: int) -> HttpResponse:
    try:
        if acting.acting_mandate(request) is not None:
            _draft(request, group_id)  # 404 outside the mandate's scope
        actions.draft_move_to_current(applicant=_applicant(request), group_id=group_id)
    except (actions.ServiceUnavailable, actions.DraftAlreadySubmitted) as error:
        messages.error(request, error.message)
        return redirect("workflows:apply-list")
    messages.success(request, _("Your draft now follows the current rules. Your answers are kept: check them below."))
    return redirect("workflows:apply-review", group_id)


@login_required
def receipt(request: AuthenticatedRequest, group_id: int) -> HttpResponse:
    group = _draft(request, group_id)
    if group.is_draft:
        return redirect("workflows:apply-resume", group.pk)
    versions = [
        application.service_version for application in group.applications.select_related("service_version__service")
    ]
    context = {"group": group, "title": _title(group), "fee_quotes": fees_of(versions, group.data)}
    return render(request, "workflows/apply/receipt.html", context)
