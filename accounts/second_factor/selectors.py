"""What second factors a person has, and who must have one."""

from dataclasses import dataclass

from django.http import Http404
from django_otp import user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import SecondFactorChange, User
from accounts.selectors import has_role

Kind = SecondFactorChange.Kind


@dataclass(frozen=True)
class Factors:
    apps: list[TOTPDevice]
    passkeys: list[WebAuthnCredential]
    recovery_codes: StaticDevice | None
    recovery_codes_left: int

    @property
    def any(self) -> bool:
        return bool(self.apps or self.passkeys or self.recovery_codes)

    @property
    def can_type_a_code(self) -> bool:
        return bool(self.apps or self.recovery_codes_left)


def second_factors(*, user: User) -> Factors:
    """The person's confirmed factors (an app being added is not one until its first code)."""
    recovery = StaticDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()
    left = StaticToken.objects.filter(device=recovery).count() if recovery else 0
    return Factors(
        apps=list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk")),
        passkeys=list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk")),
        recovery_codes=recovery,
        recovery_codes_left=left,
    )


def has_second_factor(*, user: User) -> bool:
    return user_has_device(user, confirmed=True)


def must_use_second_factor(*, user: User) -> bool:
    """Staff read personal data: every department member (clerk, counter clerk, supervisor,
    department administrator) and every administrator of the portal."""
    return bool(user.is_staff or user.is_superuser or has_role(user))


_MODELS: dict[str, type[Device]] = {
    Kind.APP: TOTPDevice,
    Kind.PASSKEY: WebAuthnCredential,
    Kind.RECOVERY_CODES: StaticDevice,
}


def device_of(*, user: User, kind: str, device_id: int) -> Device:
    """One of the person's own confirmed factors; anybody else's is not found (404)."""
    model = _MODELS.get(kind)
    if model is None:
        raise Http404
    device = model.objects.filter(user=user, confirmed=True, pk=device_id).first()
    if device is None:
        raise Http404
    return device


def kind_of(device: Device) -> str:
    for kind, model in _MODELS.items():
        if isinstance(device, model):
            return kind
    raise ValueError(f"not a second factor this portal offers: {device!r}")
