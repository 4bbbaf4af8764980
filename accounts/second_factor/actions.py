"""Every change to a person's second factors, and checking a typed code. Each change is recorded
(`SecondFactorChange`) and logged on one line."""

import logging
import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SecondFactorChange, User
from accounts.second_factor.selectors import Kind, kind_of
from lib.refusals import Refused

logger = logging.getLogger("accounts.second_factor")

RECOVERY_CODE_COUNT = 10
_TOTP_CODE = re.compile(r"^\d{6}$")


class SecondFactorRefused(Refused):
    status_code = 400


def second_factor_change_record(*, user: User, kind: str, action: str, name: str = "") -> SecondFactorChange:
    change = SecondFactorChange.objects.create(user=user, kind=kind, action=action, name=name[:100])
    logger.info("second factor %s kind=%s user=%s", action, kind, user.pk)
    return change


def totp_device_start(*, user: User) -> TOTPDevice:
    """The app the person is adding: a new secret, or the one they are already adding (one at a
    time). It is not a second factor until they type its first code."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


def _wait_message(device: Device) -> str | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    seconds = 1
    if details and details.get("locked_until"):
        seconds = max(1, int((details["locked_until"] - timezone.now()) / timedelta(seconds=1)) + 1)
    return _("Too many wrong codes. Wait %(seconds)s seconds, then try again.") % {"seconds": seconds}


def totp_device_confirm(*, user: User, device_id: int, token: str) -> TOTPDevice:
    """Makes the app being added a second factor once its current code is right. The code is
    then used: it cannot confirm a sign-in as well."""
    token = re.sub(r"\s", "", token or "")
    if not _TOTP_CODE.match(token):
        raise SecondFactorRefused(_("Enter the 6-digit code your authenticator app shows."))
    # The throttle's failure count must be kept when the code is wrong: decide inside, refuse after.
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False, pk=device_id).first()
        if device is None:
            raise SecondFactorRefused(_("That app is no longer being added. Start again."))
        wait = _wait_message(device)
        accepted = wait is None and device.verify_token(token)
        if accepted:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            second_factor_change_record(
                user=user, kind=Kind.APP, action=SecondFactorChange.Action.ADDED, name=device.name
            )
    if wait:
        raise SecondFactorRefused(wait)
    if not accepted:
        logger.info("second factor code refused kind=app-enrolment user=%s", user.pk)
        raise SecondFactorRefused(
            _("That code is not right. Check the app shows One Door and type the code it shows now.")
        )
    return device


@transaction.atomic
def recovery_codes_create(*, user: User) -> list[str]:
    """Ten new single-use codes; earlier ones stop working. Returned once, to be shown once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    second_factor_change_record(user=user, kind=Kind.RECOVERY_CODES, action=SecondFactorChange.Action.ADDED)
    return codes


@transaction.atomic
def second_factor_remove(*, user: User, device: Device) -> None:
    if device.user_id != user.pk:  # selectors.device_of already refuses; never trust a caller
        raise SecondFactorRefused(_("That second factor is not yours."))
    kind = kind_of(device)
    name = device.name
    device.delete()
    second_factor_change_record(user=user, kind=kind, action=SecondFactorChange.Action.REMOVED, name=name)


def second_factor_check(*, user: User, code: str) -> Device:
    """The app or recovery-code set that accepts `code`. An app's code works once (django-otp
    keeps the last time step used); a recovery code is deleted when used. Wrong codes slow the
    next attempt down (django-otp's throttle, per device)."""
    code = re.sub(r"[\s-]", "", code or "").lower()
    if not code:
        raise SecondFactorRefused(_("Enter the code from your authenticator app, or one of your recovery codes."))
    wanted = TOTPDevice if _TOTP_CODE.match(code) else StaticDevice
    waits: list[str] = []
    accepted: Device | None = None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if not isinstance(device, wanted):
                continue
            wait = _wait_message(device)
            if wait:
                waits.append(wait)
                continue
            if device.verify_token(code):
                accepted = device
                break
    if accepted is not None:
        logger.info("second factor verified kind=%s user=%s", kind_of(accepted), user.pk)
        return accepted
    logger.info("second factor code refused user=%s throttled=%s", user.pk, bool(waits))
    if waits:
        raise SecondFactorRefused(waits[0])
    raise SecondFactorRefused(
        _("That code is not right, or it was used already. Type the code your app shows now, or a recovery code.")
    )
