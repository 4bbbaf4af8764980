"""Confirming that a person's e-mail address is theirs: a signed link, valid for 3 days, naming
the user and the address it was sent to (so it stops working if the address changes).

The link opens a page with a button; only that POST confirms, so mail scanners that follow
links confirm nothing. Sending is limited per person, like password resets.
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.limits import over_limit
from accounts.models import User

logger = logging.getLogger("accounts.security")
SALT = "accounts.email-verification"
MAX_AGE_SECONDS = 3 * 24 * 3600
SENDS_PER_HOUR = 3


class LinkRefused(Exception):
    """The link is broken, expired, or for an address the account no longer has."""


def email_verification_token(user: User) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{user.pk}:{user.email.lower()}")


def email_verification_send(*, user: User) -> bool:
    """E-mails the link; False (nothing sent) without an address or over the hourly limit."""
    if not user.email:
        return False
    if over_limit(f"email-verification:{user.pk}", limit=SENDS_PER_HOUR, window=3600):
        logger.info("e-mail confirmation limited user=%s", user.pk)
        return False
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "accounts:email-verify", args=[email_verification_token(user)]
    )
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        send_mail(
            subject=_("Confirm your e-mail address for One Door"),
            message=_(
                "Hello %(name)s,\n\nplease confirm that this is your e-mail address by opening this link "
                "within 3 days:\n\n%(link)s\n\nIf you did not create a One Door account, do nothing.\n\nOne Door"
            )
            % {"name": user.name, "link": link},
            from_email=None,
            recipient_list=[user.email],
        )
    logger.info("e-mail confirmation sent user=%s", user.pk)
    return True


def user_for_token(token: str) -> User:
    """The account a link confirms; LinkRefused when it cannot."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE_SECONDS)
        user_id, email = value.split(":", 1)
        user = User.objects.get(pk=int(user_id), is_active=True)
    except (signing.BadSignature, ValueError, User.DoesNotExist) as error:
        raise LinkRefused from error
    if user.email.lower() != email:
        raise LinkRefused
    return user


def email_verify(*, token: str) -> User:
    """Confirms the address the link was sent to (confirming twice changes nothing)."""
    user = user_for_token(token)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        logger.info("e-mail confirmed user=%s", user.pk)
    return user
