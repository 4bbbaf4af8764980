"""Who may open the workbench's pages: department staff by role; everyone else gets 404."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts.models import User
from accounts.selectors import STAFF_ROLES, held_department_ids
from workflows.models import WorkItem
from workflows.workbench import selectors


def staff_only(roles: tuple[str, ...] = STAFF_ROLES) -> Callable:
    """Signed in (else the login page) and holding one of `roles` somewhere (else 404)."""

    def decorate(view: Callable) -> Callable:
        @login_required
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not held_department_ids(user=staff_user(request), roles=roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def staff_user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _item(request: HttpRequest, item_id: int) -> WorkItem:
    return selectors.work_item_for_clerk(clerk=staff_user(request), work_item_id=item_id)
