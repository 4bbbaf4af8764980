"""The applicant's drafts and groups, scoped to their applicant: anyone else gets 404."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404

from accounts.models import User
from lib.compiled import Compiled
from services.models import (
    LifeEvent,
    Service,
    ServiceVersion,
)
from workflows.models import Application, ApplicationGroup, GroupDocument

# The reads every request on a draft makes, compiled once per process (lib/compiled.py).
_GroupVersion = ApplicationGroup.versions.through
_group_of = Compiled(
    lambda pk, user: (
        ApplicationGroup.objects.filter(applicant_id=user, pk=pk)
        .select_related("life_event", "organisation")
        .order_by("pk")[:1]
    )
)
_group_of_locked = Compiled(
    lambda pk, user: (
        ApplicationGroup.objects.filter(applicant_id=user, pk=pk)
        .select_related("life_event", "organisation")
        .select_for_update(of=("self",))
        .order_by("pk")[:1]
    )
)
_versions_of = Compiled(
    lambda group: _GroupVersion.objects.filter(applicationgroup_id=group).select_related(
        "serviceversion__service__lead_department"
    )
)
_documents_of = Compiled(
    lambda group: GroupDocument.objects.filter(group_id=group).select_related("document", "document_type")
)

# --- Drafts and groups, scoped to their applicant --------------------------------------------


def groups_for_user(*, user: User) -> QuerySet[ApplicationGroup]:
    """Every draft and submitted group of `user` (and nobody else's), newest first."""
    if not user.is_authenticated:
        return ApplicationGroup.objects.none()
    return (
        ApplicationGroup.objects.filter(applicant=user)
        .select_related("life_event", "organisation")
        .prefetch_related(
            Prefetch("versions", queryset=ServiceVersion.objects.select_related("service")),
            Prefetch("applications", queryset=Application.objects.select_related("service").order_by("number")),
        )
        .order_by("-updated_at", "-pk")
    )


def organisation_groups_for_user(*, user: User) -> QuerySet[ApplicationGroup]:
    """Submitted applications that colleagues made for the organisations `user` represents."""
    if not user.is_authenticated:
        return ApplicationGroup.objects.none()
    return (
        ApplicationGroup.objects.filter(organisation__in=user.organisations.values("pk"), submitted_at__isnull=False)
        .exclude(applicant=user)
        .select_related("organisation", "applicant", "life_event")
        .prefetch_related(
            Prefetch("applications", queryset=Application.objects.select_related("service").order_by("number"))
        )
        .order_by("-submitted_at", "-pk")[:50]
    )


def group_load_related(group: ApplicationGroup, *, new: bool = False) -> ApplicationGroup:
    """Loads onto `group` what its pages and the API need: the pinned versions with their
    services, the attached documents, the applications (a draft has none: not queried), and
    the life event's order of services. `new`: a group just created has no documents either.

    One plain query per relation, kept as `prefetch_related` would keep it (for one group the
    prefetch machinery costs more than the queries themselves)."""
    for name in ("versions", "documents", "applications"):
        getattr(group, "_prefetched_objects_cache", {}).pop(name, None)
    # The versions' fields and materials come from `version_parts` (kept: published versions are frozen).
    _related_known(group, "versions", [link.serviceversion for link in _versions_of.run(group=group.pk)])
    _related_known(group, "documents", [] if new else _group_documents(group))
    applications = (
        []
        if group.is_draft
        else group.applications.select_related("service__lead_department", "service_version").order_by("number")
    )
    _related_known(group, "applications", applications)
    if group.life_event is not None:
        prefetch_related_objects([group.life_event], "entries")
    return group


def _related_known(instance: Any, name: str, objects: Iterable[Any]) -> None:
    """Stores `objects` as what `instance.<name>.all()` returns, exactly as `prefetch_related`
    would, for rows the caller already holds (no query)."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache.pop(name, None)
    queryset = getattr(instance, name).get_queryset()  # lazy: not run
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache[name] = queryset


def group_load_new(group: ApplicationGroup, *, versions: Iterable[ServiceVersion]) -> ApplicationGroup:
    """`group_load_related` for a group just created with these pinned versions: nothing to
    read back (no documents, no applications yet) except a life event's order of services."""
    _related_known(group, "versions", versions)
    _related_known(group, "documents", [])
    _related_known(group, "applications", [])
    if group.life_event is not None:
        prefetch_related_objects([group.life_event], "entries")
    return group


def _group_documents(group: ApplicationGroup) -> list[GroupDocument]:
    attachments = _documents_of.run(group=group.pk)
    for attachment in attachments:
        attachment.group = group  # as the related manager would: no query for it
    return attachments


def group_documents_reload(group: ApplicationGroup) -> None:
    """After attaching or detaching: the group's documents as they are now."""
    getattr(group, "_prefetched_objects_cache", {}).pop("documents", None)
    _related_known(group, "documents", _group_documents(group))


def group_documents_replace(group: ApplicationGroup, attachment: GroupDocument) -> None:
    """After attaching under the group's lock: its loaded documents with `attachment` in place
    of any earlier one of the same type (nobody else changes them while the lock is held)."""
    kept = [a for a in group.documents.all() if a.document_type_id != attachment.document_type_id]
    _related_known(group, "documents", [*kept, attachment])


def group_for_user(*, user: User, group_id: int | str, for_update: bool = False) -> ApplicationGroup:
    """One group of `user` with what its pages need; Http404 for anyone else or a malformed id.

    `for_update` locks the group row (only that row) and reads the related rows after the lock
    is held, so they are the ones the lock protects.
    """
    if not user.is_authenticated:
        raise Http404
    try:
        pk = int(group_id)
    except (TypeError, ValueError):
        raise Http404 from None
    group = (_group_of_locked if for_update else _group_of).first(pk=pk, user=user.pk)
    if group is None:
        raise Http404
    group.applicant = user  # it is theirs: no query when a page asks for the applicant
    return group_load_related(group)


def open_draft_for(*, user: User, service: Service | None = None, life_event: LifeEvent | None = None):
    """The applicant's latest unsubmitted draft for this service or life event, if any."""
    drafts = ApplicationGroup.objects.filter(applicant=user, submitted_at__isnull=True)
    if life_event is not None:
        drafts = drafts.filter(life_event=life_event)
    else:
        drafts = drafts.filter(life_event__isnull=True, versions__service=service)
    return drafts.order_by("-updated_at").first()
