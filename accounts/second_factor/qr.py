"""The QR code an authenticator app scans, drawn as inline SVG (no image request, nothing for a
content policy to refuse)."""

import base64

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_qr_svg(*, device: TOTPDevice, label: str) -> SafeString:
    import segno  # on the enrolment page only

    svg = segno.make(device.config_url, error="m").svg_inline(scale=4, border=4, light="#fff", svgclass="od-qr")
    # segno escapes nothing of ours into it but the label; the label is escaped here.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S308


def totp_secret_text(*, device: TOTPDevice) -> str:
    """The secret as an app asks for it when typed in (base32), in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
