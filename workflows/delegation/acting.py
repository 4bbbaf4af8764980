"""Acting for someone: the session remembers which of the delegate's mandates they act under.

While it is set, the apply pages work on the principal's drafts (the principal is the
applicant; bound identity elements come from their verified identity), and every page shows
"Acting for <name>". The mandate is read again on every request: once it ends or expires, the
switch falls away and the principal's drafts answer 404.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from services.models import Service
from workflows.delegation.actions import MandateRefused
from workflows.models import Application, ApplicationGroup, DataAccessRecord, Mandate

SESSION_KEY = "acting_for_mandate"


def acting_mandate(request: HttpRequest) -> Mandate | None:
    """The active mandate the signed-in person acts under in this session, if any."""
    if hasattr(request, "_acting_mandate"):
        return request._acting_mandate  # type: ignore[attr-defined]
    mandate = None
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    mandate_id = session.get(SESSION_KEY) if session is not None else None
    if session is not None and mandate_id and user is not None and user.is_authenticated:
        mandate = Mandate.objects.active().filter(pk=mandate_id, delegate=user).select_related("principal").first()
        if mandate is None:
            session.pop(SESSION_KEY, None)  # ended or expired: back to acting for oneself
    request._acting_mandate = mandate  # type: ignore[attr-defined]
    return mandate


def acting_start(request: HttpRequest, *, mandate_id: int | str) -> Mandate:
    try:
        pk = int(mandate_id)
    except (TypeError, ValueError):
        pk = 0
    mandate = Mandate.objects.active().filter(pk=pk, delegate_id=request.user.pk).select_related("principal").first()
    if mandate is None:
        raise MandateRefused(_("You can act only under a mandate you have accepted and that is valid today."))
    request.session[SESSION_KEY] = mandate.pk
    request._acting_mandate = mandate  # type: ignore[attr-defined]
    return mandate


def acting_stop(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request._acting_mandate = None  # type: ignore[attr-defined]


def applicant_of(request: HttpRequest) -> User:
    """Whose applications the apply pages work on: the principal while acting, else oneself."""
    mandate = acting_mandate(request)
    return mandate.principal if mandate is not None else request.user  # type: ignore[return-value]


def covers_services(mandate: Mandate, services: list[Service] | list[int]) -> bool:
    """Whether the mandate's scope includes every one of `services`."""
    if mandate.all_services:
        return True
    ids = {s if isinstance(s, int) else s.pk for s in services}
    covered = {pk for pk in ids if Mandate.objects.filter(pk=mandate.pk).covering(pk).exists()}
    return bool(ids) and covered == ids


def covers_group(mandate: Mandate, group: ApplicationGroup) -> bool:
    return covers_services(mandate, [version.service_id for version in group.versions.all()])


def application_looked_at(*, user: User, application: Application) -> None:
    """When `user` opens an application that is not theirs and that they reach through a mandate,
    the applicant's access log records the look (a representative of the organisation it was
    made for is not recorded: the organisation's applications are theirs to follow)."""
    if application.applicant_id == user.pk:
        return
    mandate = (
        Mandate.objects.active()
        .filter(principal_id=application.applicant_id, delegate_id=user.pk)
        .covering(application.service_id)
        .first()
    )
    if mandate is not None:
        delegate_viewed(mandate=mandate, application=application)


def delegate_viewed(
    *, mandate: Mandate, group: ApplicationGroup | None = None, application: Application | None = None
) -> None:
    """Records that the delegate looked at the principal's draft or application: the principal's
    access log shows it as a look under their mandate."""
    DataAccessRecord.objects.create(
        accessor_id=mandate.delegate_id,
        applicant_id=mandate.principal_id,
        application=application,
        what=DataAccessRecord.What.DELEGATE_VIEW,
        field_key=f"draft:{group.pk}" if group is not None and application is None else "",
    )
