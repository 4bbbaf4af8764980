"""The supervision dashboard and the rating follow-up queue (supervisors and administrators)."""

import csv
from collections.abc import Iterator
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import supervised_department_ids
from lib.text import in_language
from workflows.models import RatingFollowUp
from workflows.progress.actions import FollowUpRefused, follow_up_record
from workflows.progress.charts import bar_chart
from workflows.progress.dashboard import Dashboard, NotASupervisor, Period, dashboard_for
from workflows.progress.forms import FollowUpForm, PeriodForm
from workflows.progress.views import me
from workflows.progress.views.access_log import safe_cell


def _period(form: PeriodForm) -> Period:
    default = Period.default()
    if not form.is_valid():
        return default
    start: date = form.cleaned_data.get("start") or default.start
    end: date = form.cleaned_data.get("end") or default.end
    return Period(start, end) if end >= start else default


def _dashboard(request: HttpRequest) -> tuple[Dashboard, PeriodForm]:
    default = Period.default()
    form = PeriodForm(request.GET or None, default_start=default.start, default_end=default.end)
    try:
        return dashboard_for(user=me(request), period=_period(form)), form
    except NotASupervisor as exc:
        raise Http404 from exc


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponseBase:
    board, form = _dashboard(request)
    if request.GET.get("format") == "csv":
        return _csv(board)
    top_backlog = board.backlog[:12]
    charts = {
        "backlog": bar_chart(
            [(f"{in_language(r['service_en'], r['service_zh'])} · {r['step']}", r["total"]) for r in top_backlog],
            title=_("Open work by service and step"),
        ),
        "on_time": bar_chart(
            [
                (in_language(r["service_en"], r["service_zh"]), r["on_time_rate"])
                for r in board.timeliness
                if r["on_time_rate"] is not None
            ],
            title=_("Share of applications decided on time, by service"),
            maximum=1.0,
            percent=True,
        ),
        "ratings": bar_chart(
            [(f"{'★' * score} ({score})", count) for score, count in board.ratings.items()],
            title=_("Ratings by score"),
        ),
    }
    return render(
        request,
        "workflows/progress/supervision.html",
        {"board": board, "form": form, "charts": charts, "export_query": request.GET.urlencode()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(board: Dashboard) -> Iterator[list[object]]:
    yield [_("Period"), board.period.start.isoformat(), board.period.end.isoformat()]
    yield [_("Departments"), ", ".join(d.code for d in board.departments)]
    yield []
    yield [_("Figure"), _("Value")]
    yield [_("Open work items"), board.backlog_total]
    yield [_("Overdue"), board.overdue_total]
    yield [_("Waiting for the applicant"), board.waiting_for_applicant_total]
    yield [_("Decided in the period"), board.overall.get("decided")]
    yield [_("On-time rate"), _fmt(board.overall.get("on_time_rate"))]
    yield [_("Median processing time (days)"), board.overall.get("median_days")]
    yield [_("90th percentile processing time (days)"), board.overall.get("p90_days")]
    yield [_("Open incidents"), board.incidents_open]
    yield [_("Ratings"), board.ratings_total]
    yield [_("Average rating"), board.ratings_average]
    yield [_("Open follow-ups"), board.follow_ups_open]
    for key, value in board.once_only.items():
        yield [f"once_only.{key}", _fmt(value)]
    for key, value in board.offers.items():
        yield [f"offers.{key}", value]
    yield []
    yield [_("Service"), _("Step"), _("Open"), _("Overdue"), _("Waiting for the applicant")]
    for row in board.backlog:
        yield [row["service_en"], row["step"], row["total"], row["overdue"], row["waiting"]]
    yield []
    yield [
        _("Service"),
        _("Decided"),
        _("On time"),
        _("On-time rate"),
        _("Median (calendar days)"),
        _("90th percentile (calendar days)"),
        _("Median share of the limit"),
        _("90th percentile share of the limit"),
        _("Statutory limit (working days)"),
    ]
    for row in board.timeliness:
        yield [
            row["service_en"],
            row["decided"],
            row["on_time"],
            _fmt(row["on_time_rate"]),
            row["median_days"],
            row["p90_days"],
            _fmt(row["median_share"]),
            _fmt(row["p90_share"]),
            row["limit_days"],
        ]
    yield []
    yield [_("Rating"), _("Count")]
    for score, count in board.ratings.items():
        yield [score, count]
    yield []
    yield [_("Overdue application"), _("Step"), _("Department"), _("Due")]
    for item in board.overdue:
        due = timezone.localtime(item.statutory_due_at).strftime("%Y-%m-%d") if item.statutory_due_at else ""
        yield [item.application.number, item.step_label, item.department.code, due]


def _fmt(value: object) -> object:
    return f"{value:.4f}" if isinstance(value, float) else value


def _csv(board: Dashboard) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([safe_cell(c) for c in row]) for row in _csv_rows(board)), content_type="text/csv"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="supervision-{board.period.start.isoformat()}-{board.period.end.isoformat()}.csv"'
    )
    return response


def _follow_up_for(request: HttpRequest, follow_up_id: int) -> RatingFollowUp:
    departments = supervised_department_ids(me(request))
    follow_ups = RatingFollowUp.objects.select_related("rating__application__service", "department", "handled_by")
    if departments is not None:
        follow_ups = follow_ups.filter(department_id__in=departments)
    try:
        return follow_ups.get(pk=follow_up_id)
    except RatingFollowUp.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    item = _follow_up_for(request, follow_up_id)
    form = FollowUpForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                follow_up_record(supervisor=me(request), follow_up_id=item.pk, outcome=form.cleaned_data["outcome"])
            except FollowUpRefused as refused:
                form.add_error(None, refused.message)
                status = 400
            else:
                messages.success(request, _("The follow-up is recorded and the applicant has been told."))
                return redirect("workflows:progress-supervision")
        else:
            status = 400
    return render(
        request, "workflows/progress/follow_up.html", {"item": item, "form": form, "now": timezone.now()}, status=status
    )
