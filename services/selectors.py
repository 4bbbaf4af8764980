"""Reads of the catalogue, shaped for the pages and APIs that use them."""

from django.db.models import Prefetch, QuerySet

from services.models import FormField, LifeEvent, LifeEventService, Service, ServiceVersion
from services.search import matching

PUBLISHED = ServiceVersion.Status.PUBLISHED


def current_version(service: Service) -> ServiceVersion | None:
    """The published version of a service (what a new application is judged against), or None.

    Uses the prefetch of `published_services()` / `service_by_code()` when there is one.
    """
    prefetched = getattr(service, "published_versions", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return service.versions.filter(status=PUBLISHED).first()


def service_to_apply_for(code: str) -> Service | None:
    """A service by code with its published version (or none) loaded for `current_version`:
    one query when it has a published version, the version's service and department joined."""
    version = (
        ServiceVersion.objects.filter(service__code=code, status=PUBLISHED)
        .select_related("service__lead_department")
        .first()
    )
    if version is not None:
        version.service.published_versions = [version]  # type: ignore[attr-defined]
        return version.service
    unavailable = Service.objects.filter(code=code).first()
    if unavailable is not None:
        unavailable.published_versions = []  # type: ignore[attr-defined]
    return unavailable


def _with_published_version(queryset: QuerySet[Service]) -> QuerySet[Service]:
    return queryset.select_related("lead_department").prefetch_related(
        Prefetch("versions", queryset=ServiceVersion.objects.filter(status=PUBLISHED), to_attr="published_versions")
    )


def published_services() -> QuerySet[Service]:
    """Services that have a published version, with their department and that version loaded."""
    return _with_published_version(Service.objects.filter(versions__status=PUBLISHED).distinct()).order_by(
        "lead_department__code", "name_en"
    )


SERVICE_SEARCH_FIELDS = (
    "name_en", "name_zh", "summary_en", "summary_zh", "code", "life_situations",
    "lead_department__name_en", "lead_department__name_zh",
)  # fmt: skip
LIFE_EVENT_SEARCH_FIELDS = ("name_en", "name_zh", "summary_en", "summary_zh", "code")


def search_services(query: str, queryset: QuerySet[Service] | None = None) -> QuerySet[Service]:
    """Published services whose names, summary, code, tags or department match every word
    (`services.search`: synonyms and, in Chinese, two-character pieces). Plain `icontains`, so
    it works on SQLite (embedded mode) and PostgreSQL alike."""
    queryset = published_services() if queryset is None else queryset
    return queryset.filter(matching(query, SERVICE_SEARCH_FIELDS))


def search_life_events(query: str) -> QuerySet[LifeEvent]:
    return LifeEvent.objects.filter(matching(query, LIFE_EVENT_SEARCH_FIELDS))


def service_by_code(code: str) -> Service | None:
    """A published service with everything its page shows (form, materials, fees), or None."""
    version_parts = ServiceVersion.objects.filter(status=PUBLISHED).prefetch_related(
        Prefetch("fields", queryset=FormField.objects.select_related("element")),
        "materials__document_type",
        "fees",
    )
    return (
        Service.objects.filter(code=code, versions__status=PUBLISHED)
        .select_related("lead_department")
        .prefetch_related(Prefetch("versions", queryset=version_parts, to_attr="published_versions"))
        .first()
    )


def life_events() -> QuerySet[LifeEvent]:
    """Life events with their services (in order) and each service's department."""
    return LifeEvent.objects.prefetch_related(
        Prefetch("entries", queryset=LifeEventService.objects.select_related("service__lead_department"))
    )


def life_event_by_code(code: str) -> LifeEvent | None:
    """A life event with its services, each with its published version's parts loaded."""
    version_parts = ServiceVersion.objects.filter(status=PUBLISHED).prefetch_related(
        Prefetch("fields", queryset=FormField.objects.select_related("element")),
        "materials__document_type",
        "fees",
    )
    entries = LifeEventService.objects.select_related("service__lead_department").prefetch_related(
        Prefetch("service__versions", queryset=version_parts, to_attr="published_versions")
    )
    return LifeEvent.objects.filter(code=code).prefetch_related(Prefetch("entries", queryset=entries)).first()


def life_event_versions(life_event: LifeEvent) -> list[ServiceVersion]:
    """The current versions of a life event's services, in the event's order (unpublished ones left out)."""
    versions = []
    for entry in life_event.entries.all():
        version = current_version(entry.service)
        if version is not None:
            versions.append(version)
    return versions
