from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from workflows.delegation.acting import SESSION_KEY, acting_mandate
from workflows.models import Notification


def portal(request: HttpRequest) -> dict[str, object]:
    """Navigation facts every page needs: which menus the signed-in person sees."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_roles": frozenset()}
    return {"nav_roles": user.nav_roles()}


def inbox(request: HttpRequest) -> dict[str, object]:
    """The header's unread count: one indexed COUNT, run only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "inbox_unread": SimpleLazyObject(lambda: Notification.objects.filter(user=user, read_at__isnull=True).count())
    }


def acting_for(request: HttpRequest) -> dict[str, object]:
    """The "Acting for <name>" banner: the mandate this session acts under, read lazily (one
    query, only on pages of a signed-in person whose session has chosen to act for someone)."""
    session = getattr(request, "session", None)
    if session is None or not session.get(SESSION_KEY):
        return {}
    return {"acting_mandate": SimpleLazyObject(lambda: acting_mandate(request))}
