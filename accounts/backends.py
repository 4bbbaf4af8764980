"""Sign in with a log-in name or an e-mail address, with one password."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User
from accounts.session_store import user_read_with_session
from lib.compiled import Compiled

# The person of a session the store did not read with it (its column was empty, or a session
# not read through accounts/middleware.py): one compiled statement (lib/compiled.py).
_user_by_pk = Compiled(lambda pk: User._default_manager.filter(pk=pk))


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or password is None:
            return None
        identifier = username.strip()
        field = "email__iexact" if "@" in identifier else "username__iexact"
        user = User.objects.filter(**{field: identifier}).order_by("pk").first()
        if user is None:
            # Spend the same time as a real check so existence cannot be timed.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return super().get_user(user_id)
        # Usually the session's own read brought the person (accounts/session_store.py).
        user = user_read_with_session(user_id) or _user_by_pk.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
