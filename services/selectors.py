"""Reads of the catalogue, shaped for the pages and APIs that use them."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Prefetch, QuerySet

from lib.compiled import Compiled
from services import search
from services.models import (
    DocumentType,
    FormField,
    LifeEvent,
    LifeEventService,
    SearchSynonym,
    Service,
    ServiceVersion,
)

PUBLISHED = ServiceVersion.Status.PUBLISHED


def current_version(service: Service) -> ServiceVersion | None:
    """The published version of a service (what a new application is judged against), or None.

    Uses the prefetch of `published_services()` / `service_by_code()` when there is one.
    """
    prefetched = getattr(service, "published_versions", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return service.versions.filter(status=PUBLISHED).first()


# Starting every draft reads it: compiled once per process (lib/compiled.py).
_published_version_of = Compiled(
    lambda code: (
        ServiceVersion.objects.filter(service__code=code, status=PUBLISHED)
        .select_related("service__lead_department")
        .order_by("pk")[:1]
    )
)


def service_to_apply_for(code: str) -> Service | None:
    """A service by code with its published version (or none) loaded for `current_version`:
    one query when it has a published version, the version's service and department joined."""
    version = _published_version_of.first(code=code)
    if version is not None:
        version.service.published_versions = [version]  # type: ignore[attr-defined]
        return version.service
    unavailable = Service.objects.filter(code=code).first()
    if unavailable is not None:
        unavailable.published_versions = []  # type: ignore[attr-defined]
    return unavailable


# Every upload names its document type: compiled once per process (lib/compiled.py).
_document_type_by_code = Compiled(lambda code: DocumentType.objects.filter(code=code))


def document_type_by_code(code: str) -> DocumentType | None:
    return _document_type_by_code.first(code=code)


def _with_published_version(queryset: QuerySet[Service]) -> QuerySet[Service]:
    return queryset.select_related("lead_department").prefetch_related(
        Prefetch("versions", queryset=ServiceVersion.objects.filter(status=PUBLISHED), to_attr="published_versions")
    )


def published_services() -> QuerySet[Service]:
    """Services that have a published version, with their department and that version loaded."""
    return _with_published_version(Service.objects.filter(versions__status=PUBLISHED).distinct()).order_by(
        "lead_department__code", "name_en"
    )


@dataclass(frozen=True)
class CatalogueSearch:
    """What a search found, best first, and for a search that found nothing a word to try."""

    hits: list[search.Hit]
    suggestion: str | None = None


# The synonyms, read once per process and again only when the admin has changed them.
_synonyms: tuple[tuple[int, Any], search.Synonyms] | None = None


def search_synonyms() -> search.Synonyms:
    """The admin's synonyms, cached in this process. One small query tells whether they changed
    (a row added, changed or deleted changes the count or the latest change), so an edit in the
    admin takes effect on the next search in every process."""
    global _synonyms
    stamp = SearchSynonym.objects.aggregate(count=Count("pk"), changed=Max("updated_at"))
    key = (stamp["count"], stamp["changed"])
    if _synonyms is None or _synonyms[0] != key:
        _synonyms = (key, search.synonyms_parse(SearchSynonym.objects.values_list("term", "meanings")))
    return _synonyms[1]


def search_catalogue(
    query: str, *, services: Iterable[Service] | None = None, events: Iterable[LifeEvent] | None = None
) -> CatalogueSearch:
    """Published services and life events ranked for `query` (`services.search`), with a "did you
    mean" when nothing matches. `services` and `events` default to the published catalogue; pass
    them when they are loaded already (as `published_services()` and `life_events()` load them)."""
    services = published_services() if services is None else services
    events = life_events() if events is None else events
    documents = [
        *(search.Document.of_life_event(event, [entry.service for entry in event.entries.all()]) for event in events),
        *(search.Document.of_service(service) for service in services),
    ]
    synonyms = search_synonyms()
    hits = search.search(query, documents, synonyms)
    return CatalogueSearch(hits, None if hits else search.suggestion(query, documents, synonyms))


def search_services(query: str, queryset: QuerySet[Service] | None = None) -> list[Service]:
    """Published services for `query`, best first (life events left out)."""
    services = published_services() if queryset is None else queryset
    documents = [search.Document.of_service(service) for service in services]
    return [hit.item for hit in search.search(query, documents, search_synonyms())]


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
