"""The signed link that lets a person change or cancel an appointment without signing in.

The link names the appointment and is signed with the site's secret (django.core.signing), so
it cannot be guessed or altered, and it expires. A link of an appointment that was moved,
cancelled, kept or has passed still opens, and says so (appointments/views.py).
"""

from django.core import signing
from django.urls import reverse

SALT = "appointments.manage"
# Long enough for the furthest bookable day and a margin; the page refuses a past appointment anyway.
MAX_AGE_SECONDS = 120 * 86400


def manage_token(appointment_id: int) -> str:
    return signing.dumps({"appointment": appointment_id}, salt=SALT, compress=True)


def appointment_from_token(token: str) -> int | None:
    """The appointment id a link names; None when it is forged, damaged or expired."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    appointment_id = payload.get("appointment") if isinstance(payload, dict) else None
    return appointment_id if isinstance(appointment_id, int) else None


def manage_path(appointment_id: int) -> str:
    return reverse("appointments:manage", args=[manage_token(appointment_id)])
