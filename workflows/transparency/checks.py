"""Deployment check of the transparency log: `manage.py check --deploy` fails while checkpoints
could not be signed (the sequencer would stop at its first batch)."""

from pathlib import Path

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def transparency_signing_key(app_configs, **kwargs) -> list[CheckMessage]:
    if settings.TRANSPARENCY_GENERATE_KEY or Path(settings.TRANSPARENCY_SIGNING_KEY).is_file():
        return []
    return [
        Error(
            f"No transparency log signing key at {settings.TRANSPARENCY_SIGNING_KEY}: no checkpoint could be signed.",
            hint="Put the log's Ed25519 key there (docs/transparency.md), or set TRANSPARENCY_GENERATE_KEY=true "
            "to make it on first use, in a volume that is backed up.",
            id="workflows.E101",
        )
    ]
