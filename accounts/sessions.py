"""The devices a person is signed in on, and signing out everywhere else.

Each sign-in through our pages is recorded (`SignIn`), keyed by a hash of the session key so the
list can say "this device" without storing a usable key. Signing out everywhere else raises the
person's `session_epoch`, which is part of the hash Django checks on every request: every other
session stops matching at once, with no extra query per request.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import SignIn, User


def _key_hash(session_key: str | None) -> str:
    return hashlib.sha256((session_key or "").encode()).hexdigest()


def current_key_hash(request: HttpRequest) -> str:
    return _key_hash(request.session.session_key)


def sign_in_record(*, request: HttpRequest, user: User) -> SignIn:
    """Called right after `login()`: this device, as the list will show it."""
    if request.session.session_key is None:
        request.session.save()
    return SignIn.objects.create(
        user=user,
        session_key_hash=current_key_hash(request),
        user_agent=request.headers.get("User-Agent", "")[:300],
        ip_address=request.META.get("REMOTE_ADDR") or None,
    )


def sign_ins_alive(*, user: User) -> QuerySet[SignIn]:
    """Sign-ins whose session may still be alive (no session outlives its absolute limit)."""
    since = timezone.now() - timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
    return SignIn.objects.filter(user=user, created_at__gte=since)


@transaction.atomic
def sign_out_everywhere_else(*, request: HttpRequest, user: User) -> int:
    """Ends every session of `user` but this one; returns how many other sign-ins were listed."""
    before = current_key_hash(request)
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    update_session_auth_hash(request, user)  # this session follows the new epoch (and gets a new key)
    return sign_ins_keep_only(request=request, user=user, key_hash_before=before)


def sign_ins_keep_only(*, request: HttpRequest, user: User, key_hash_before: str) -> int:
    """After the other sessions ended: this device keeps its row (under its new session key),
    the others are forgotten; returns how many were."""
    SignIn.objects.filter(user=user, session_key_hash=key_hash_before).update(
        session_key_hash=current_key_hash(request)
    )
    others, _ = SignIn.objects.filter(user=user).exclude(session_key_hash=current_key_hash(request)).delete()
    return others
