"""The citizen's catalogue: browse, search, a service's page, a life event's page, eligibility."""

from collections import OrderedDict
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import Department, VerifiedAttribute
from services import selectors
from services.conditions import elements_named
from services.diagram import route_svg
from services.elements import choice_label
from services.eligibility import clean_answers, eligibility_elements, judge
from services.explain import describe_condition, element_labels
from services.models import Category, DataElement, Service, ServiceVersion
from services.routes import parse_route

SEARCH_MAX_LENGTH = 100


def _apply_url(url_name: str, code: str) -> str | None:
    """The apply page of the application engine, when it is installed."""
    try:
        return reverse(url_name, kwargs={"code": code})
    except NoReverseMatch:
        return None


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    department_code = request.GET.get("department", "")
    category = request.GET.get("category", "")
    services = selectors.published_services()
    all_services = list(services)
    departments = OrderedDict((service.lead_department.code, service.lead_department) for service in all_services)
    chosen_department = departments.get(department_code)
    chosen_category = category if category in Category.values else ""

    hits: list[Any] = []
    suggestion = None
    if query:
        found = selectors.search_catalogue(query, services=all_services, events=selectors.life_events())
        hits, suggestion = found.hits, found.suggestion
        shown = [hit.item for hit in hits if hit.kind == "service"]
        life_events = [hit.item for hit in hits if hit.kind == "life_event"]
    else:
        shown = [
            service
            for service in all_services
            if (chosen_department is None or service.lead_department.code == chosen_department.code)
            and (not chosen_category or service.category == chosen_category)
        ]
        life_events = [] if (chosen_department or chosen_category) else list(selectors.life_events())

    groups: OrderedDict[Department, list[Service]] = OrderedDict()
    for service in shown:
        groups.setdefault(service.lead_department, []).append(service)
    categories = [(value, label) for value, label in Category.choices if any(s.category == value for s in all_services)]
    return render(
        request,
        "services/catalogue.html",
        {
            "query": query,
            "results": shown,
            "hits": hits,
            "suggestion": suggestion,
            "groups": groups,
            "life_events": life_events,
            "departments": list(departments.values()),
            "categories": categories,
            "chosen_department": chosen_department,
            "chosen_category": chosen_category,
            "chosen_category_label": Category(chosen_category).label if chosen_category else "",
            "filtered": bool(query or chosen_department or chosen_category),
        },
    )


def _version_facts(version: ServiceVersion) -> dict[str, Any]:
    """What a service page shows of a version: materials, fees, questions, route diagram."""
    fields = list(version.fields.all())
    materials = list(version.materials.all())
    keys = set().union(*(elements_named(m.when) for m in materials), *(elements_named(f.when) for f in fields))
    elements = element_labels(keys) if keys else {}
    sections: OrderedDict[str, list] = OrderedDict()
    for field in fields:
        sections.setdefault(field.section, []).append(field)
    return {
        "version": version,
        "materials": [
            {"material": material, "condition": describe_condition(material.when, elements)} for material in materials
        ],
        "fees": list(version.fees.all()),
        "sections": sections,
        "diagram": route_svg(parse_route(version.route)),
    }


@require_GET
def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    service = selectors.service_by_code(code)
    version = selectors.current_version(service) if service else None
    if service is None or version is None:
        raise Http404
    return render(
        request,
        "services/service_detail.html",
        {
            "service": service,
            **_version_facts(version),
            "life_events": list(service.life_events.all()),
            "apply_url": _apply_url("workflows:apply-start-service", service.code),
        },
    )


def _once_each(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """What a life event asks, each question and each document once, with the services that use it.

    A document that a service of the same life event issues (the business licence the food licence
    needs) is not asked for: it is listed as issued along the way; so is a datum another service of
    the life event produces on its approval (the licence's credit code the tax registration needs).
    """
    issued: dict[str, Service] = {}
    produced: dict[str, Service] = {}
    for part in parts:
        for step in parse_route(part["version"].route):
            if step.kind == "issue" and step.document_type:
                issued.setdefault(step.document_type, part["version"].service)
        for key in part["version"].produces or ():
            produced.setdefault(key, part["version"].service)
    given: OrderedDict[str, dict[str, Any]] = OrderedDict()
    sections: OrderedDict[str, OrderedDict[str, dict[str, Any]]] = OrderedDict()
    documents: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for part in parts:
        service = part["version"].service
        for section, fields in part["sections"].items():
            for form_field in fields:
                key = form_field.element.key
                maker = produced.get(key)
                if maker is not None and maker != service:
                    entry = given.setdefault(key, {"element": form_field.element, "made_by": maker, "services": []})
                    entry["services"].append(service)
                    continue
                known = next((questions[key] for questions in sections.values() if key in questions), None)
                if known is None:
                    known = sections.setdefault(section, OrderedDict())[key] = {
                        "element": form_field.element,
                        "required": False,
                        "services": [],
                    }
                known["required"] = known["required"] or form_field.required
                known["services"].append(service)
        for item in part["materials"]:
            document_type = item["material"].document_type
            entry = documents.setdefault(
                document_type.code,
                {"document_type": document_type, "required": False, "uses": [], "issued_by": None},
            )
            entry["required"] = entry["required"] or item["material"].required
            entry["uses"].append({"service": service, "condition": item["condition"]})
            maker = issued.get(document_type.code)
            if maker is not None and maker != service:
                entry["issued_by"] = maker
    return {
        "questions": OrderedDict((section, list(questions.values())) for section, questions in sections.items()),
        "given_data": list(given.values()),
        "documents": [entry for entry in documents.values() if entry["issued_by"] is None],
        "issued_documents": [entry for entry in documents.values() if entry["issued_by"] is not None],
    }


@require_GET
def life_event_detail(request: HttpRequest, code: str) -> HttpResponse:
    life_event = selectors.life_event_by_code(code)
    if life_event is None:
        raise Http404
    versions = selectors.life_event_versions(life_event)
    if not versions:
        raise Http404
    has_rules = any(version.eligibility for version in versions)
    parts = [_version_facts(version) for version in versions]
    return render(
        request,
        "services/life_event_detail.html",
        {
            "life_event": life_event,
            "parts": parts,
            **_once_each(parts),
            "total_days": max(version.time_limit_days for version in versions),
            "departments": sorted({version.service.lead_department.name for version in versions}),
            "has_rules": has_rules,
            "apply_url": _apply_url("workflows:apply-start-life-event", life_event.code),
        },
    )


def _questions(elements: list[DataElement], raw: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    questions = []
    for element in elements:
        choices: list[tuple[str, str]] = []
        if element.kind == DataElement.Kind.BOOLEAN:
            choices = [("yes", _("Yes")), ("no", _("No"))]
        elif element.kind == DataElement.Kind.CHOICE:
            choices = [(str(c.get("value")), choice_label(element, c.get("value"))) for c in element.choices or []]
        value = raw.get(element.key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        questions.append(
            {
                "element": element,
                "id": "q-" + element.key.replace(".", "-").replace("_", "-"),
                "choices": choices,
                "value": "" if value is None else str(value),
                "error": errors.get(element.key, ""),
                "input_type": {
                    str(DataElement.Kind.DATE): "date",
                    str(DataElement.Kind.EMAIL): "email",
                    str(DataElement.Kind.PHONE): "tel",
                }.get(element.kind, "text"),
                "numeric": element.kind in (DataElement.Kind.NUMBER, DataElement.Kind.DECIMAL),
            }
        )
    return questions


def _check(request: HttpRequest, *, versions: list[ServiceVersion], subject: Any, kind: str) -> HttpResponse:
    elements = eligibility_elements(versions)
    keys = [element.key for element in elements]
    submitted = any(key in request.GET for key in keys)
    raw: dict[str, Any] = {}
    if submitted:
        raw = {key: request.GET.get(key, "") for key in keys}
    elif request.user.is_authenticated:
        # What the state already knows about this person answers the question for them.
        known = VerifiedAttribute.objects.filter(user=request.user, element_key__in=keys)
        raw = dict(known.values_list("element_key", "value"))
    answers, errors = clean_answers(elements, raw) if submitted else ({}, {})
    verdicts = judge(versions, answers) if submitted and not errors else None
    code = subject.code
    return render(
        request,
        "services/eligibility.html",
        {
            "subject": subject,
            "kind": kind,
            "questions": _questions(elements, raw, errors),
            "errors": errors,
            "verdicts": verdicts,
            "eligible": verdicts is not None and all(verdict.eligible for verdict in verdicts),
            "back_url": reverse(f"services:{kind}", kwargs={"code": code}),
            "apply_url": _apply_url(
                "workflows:apply-start-service" if kind == "service" else "workflows:apply-start-life-event", code
            ),
        },
    )


@require_GET
def service_eligibility(request: HttpRequest, code: str) -> HttpResponse:
    service = selectors.service_by_code(code)
    version = selectors.current_version(service) if service else None
    if service is None or version is None:
        raise Http404
    return _check(request, versions=[version], subject=service, kind="service")


@require_GET
def life_event_eligibility(request: HttpRequest, code: str) -> HttpResponse:
    life_event = selectors.life_event_by_code(code)
    versions = selectors.life_event_versions(life_event) if life_event else []
    if life_event is None or not versions:
        raise Http404
    return _check(request, versions=versions, subject=life_event, kind="life_event")
