"""Second factors for the tests' staff.

Staff must confirm a second factor before the workbench, the counter, supervision, staff
management and the admin open (accounts/second_factor/gate.py). Tests of those pages are not
about the gate, so:

- `staff_device(user)` gives a member of staff a real, confirmed TOTP device with a known key;
- `session_confirm(session, user)` records that device in a session exactly as
  `django_otp.login` does after a correct code (the device's persistent id under
  `DEVICE_ID_SESSION_KEY`); django-otp's middleware then loads it and `is_verified()` is True;
- the autouse fixture in the top-level conftest.py does that on every `Client.force_login` /
  `Client.login` of a member of staff, unless the test is marked `second_factor_gate`;
- `totp_code(user)` is the code the device accepts next (browser `sign_in` types it).
"""

from django.contrib.sessions.backends.base import SessionBase
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.second_factor.selectors import must_use_second_factor

# 20 bytes, hex, as django-otp stores TOTP keys. Only ever used by tests.
TEST_TOTP_KEY = "3132333435363738393031323334353637383930"
TEST_DEVICE_NAME = "Test authenticator"


def staff_device(user: User) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name=TEST_DEVICE_NAME, defaults={"key": TEST_TOTP_KEY, "confirmed": True}
    )
    return device


def session_confirm(session: SessionBase, user: User) -> None:
    """Marks `session` as confirmed with the user's test device, if they are staff."""
    if must_use_second_factor(user=user):
        session[DEVICE_ID_SESSION_KEY] = staff_device(user).persistent_id


def totp_code(device: TOTPDevice) -> str:
    """The code `device` accepts now. A code works once: when this time step's code was used
    already (two sign-ins within 30 seconds), the next step's, which the device's one-step
    tolerance accepts."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():0{device.digits}d}"
