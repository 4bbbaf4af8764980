"""Deployment checks of the vault: `manage.py check --deploy` fails while uploads would fail open."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from documents.originals import keys_configured
from documents.scanning import scanner_configured


@register(Tags.security, deploy=True)
def virus_scanner_configured(app_configs, **kwargs) -> list[CheckMessage]:
    if scanner_configured():
        return []
    return [
        Error(
            "No virus scanner is configured: every upload would be refused.",
            hint="Set CLAMD_SOCKET (a unix socket) or CLAMD_HOST and CLAMD_PORT to a clamd with current "
            "signatures (docs/hardening.md, section 4).",
            id="documents.E001",
        )
    ]


@register(Tags.security, deploy=True)
def scanning_required(app_configs, **kwargs) -> list[CheckMessage]:
    if settings.DOCUMENT_SCAN_REQUIRED:
        return []
    return [
        Error(
            "DOCUMENT_SCAN_REQUIRED is off: uploads would be stored unscanned whenever no scanner is configured.",
            hint="Leave DOCUMENT_SCAN_REQUIRED unset in production (it defaults to on).",
            id="documents.E002",
        )
    ]


@register(Tags.security, deploy=True)
def originals_key_configured(app_configs, **kwargs) -> list[CheckMessage]:
    if keys_configured():
        return []
    return [
        Error(
            "No key seals the originals of uploads: every upload would be refused.",
            hint="Set DOCUMENT_ORIGINALS_KEYS to a Fernet key (Fernet.generate_key()); keep it with the "
            "database backups' keys (docs/hardening.md, section 4).",
            id="documents.E003",
        )
    ]
