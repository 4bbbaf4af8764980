"""Who looked at my data: every staff access to the applicant's data, with CSV export."""

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from workflows.models import DataAccessRecord
from workflows.progress import selectors
from workflows.progress.views import me
from workflows.transparency import keys
from workflows.transparency.proofs import record_proof_check, record_proof_document
from workflows.transparency.unavailable import answers_when_log_key_unavailable

PAGE_SIZE = 50


def describe(record: DataAccessRecord) -> str:
    """What was looked at, in words: the application, a named field, or a document."""
    if record.what == DataAccessRecord.What.REVEAL_FIELD:
        return _("Revealed a protected field: %(field)s") % {"field": record.field_key}
    if record.what == DataAccessRecord.What.OPEN_DOCUMENT:
        name = record.document.document_type.name if record.document else ""
        return _("Opened a document: %(name)s") % {"name": name} if name else _("Opened a document")
    return str(record.get_what_display())


def safe_cell(value: object) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; such cells get a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(records) -> Iterator[list[str]]:
    yield [_("When"), _("Who"), _("Department"), _("What"), _("Application"), _("Work item")]
    for record in records.iterator(chunk_size=500):
        yield [
            timezone.localtime(record.created_at).strftime("%Y-%m-%d %H:%M"),
            record.accessor.name,
            record.department.name if record.department else "",
            describe(record),
            record.application.number if record.application else "",
            record.work_item.step_label if record.work_item else "",
        ]


@login_required
@require_GET
def access_log(request: HttpRequest) -> HttpResponseBase:
    number = request.GET.get("application", "").strip()
    records = selectors.access_records_for_applicant(user=me(request), application_number=number or None)
    if request.GET.get("format") == "csv":
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow([safe_cell(c) for c in row]) for row in _rows(records)), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="who-looked-at-my-data.csv"'
        return response
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page.object_list:
        record.description = describe(record)  # type: ignore[attr-defined]
    own = selectors.own_applications(user=me(request)).order_by("-submitted_at")
    numbers = list(own.values_list("number", flat=True))
    summary = selectors.access_summary(user=me(request), application_number=number or None)
    # Which department could see which of your data: only asked when anybody looked at all.
    sights = selectors.access_sights(user=me(request), application_number=number or None) if summary else []
    return render(
        request,
        "workflows/progress/access_log.html",
        {"page": page, "numbers": numbers, "selected": number, "summary": summary, "sights": sights},
    )


def _own_record(request: HttpRequest, record_id: int) -> DataAccessRecord:
    record = selectors.access_records_for_applicant(user=me(request)).filter(pk=record_id).first()
    if record is None:
        raise Http404
    return record


@login_required
@require_GET
@answers_when_log_key_unavailable(page=True)
def record_proof_page(request: HttpRequest, record_id: int) -> HttpResponse:
    """ "Prove it" as a page: the record, the server's check of its proof, the proof itself to
    download, and a check of that file in the person's own browser (static/js/proof_check.js);
    without JavaScript the server's check, the file and the documented script remain."""
    record = _own_record(request, record_id)
    record.description = describe(record)  # type: ignore[attr-defined]
    document = record_proof_document(record)
    checked, problem = None, ""
    if document is not None:
        try:
            checked = record_proof_check(document)
        except ValueError as error:  # NoteError, ProofError: say what does not hold
            problem = str(error)
    return render(
        request,
        "workflows/progress/access_proof.html",
        {
            "record": record,
            "proof": document,
            "checked": checked,
            "problem": problem,
            "verifier_keys": [v.text for v in keys.log_verifiers()],
            "log_origin": keys.log_origin(),
        },
    )


@login_required
@require_GET
@answers_when_log_key_unavailable()
def record_proof(request: HttpRequest, record_id: int) -> JsonResponse:
    """ "Prove it": the record's entry in the transparency log, its inclusion proof and the signed
    checkpoint it leads to, as a JSON file the person can check themselves (docs/transparency.md).
    Only the person the record is about gets it; anyone else 404."""
    record = _own_record(request, record_id)
    document = record_proof_document(record)
    if document is None:
        return JsonResponse(
            {
                "status": "pending",
                "detail": _(
                    "This record is not in the public log yet; it is added within a few seconds. Try again soon."
                ),
            },
            status=202,
            headers={"Retry-After": "5"},
        )
    response = JsonResponse({"status": "included", **document}, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = f'attachment; filename="access-record-{record.pk}-proof.json"'
    return response
