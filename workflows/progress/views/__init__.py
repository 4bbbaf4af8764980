"""HTML views of following progress: thin — parse, call one selector or action, render."""

from typing import cast

from django.http import HttpRequest

from accounts.models import User


def me(request: HttpRequest) -> User:
    """The signed-in person (views are behind login_required; the API requires authentication)."""
    return cast(User, request.user)
