"""The log's signing key and the verifier keys it publishes.

TRANSPARENCY_SIGNING_KEY names a file holding the Ed25519 signer key in Go's note format
(PRIVATE+KEY+<name>+<id>+<key>). Outside production a missing file is generated on first use
(under var/); in production it must exist. TRANSPARENCY_VERIFIER_KEYS lists further verifier
keys to publish and accept (the keys of earlier checkpoints, after a rotation).
"""

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lib.signed_note import Signer, Verifier

logger = logging.getLogger("workflows.transparency")

_signers: dict[tuple[str, str], Signer] = {}


class LogKeyUnavailable(ImproperlyConfigured):
    """The log's signing key cannot be used: its file is missing where it may not be generated,
    or it was made for another origin (the origin is in the key's name, and in development the
    origin follows PUBLIC_BASE_URL, so a server started on another PORT no longer matches the key
    it generated before). The pages that publish the log answer 503 with a plain message
    (workflows/transparency/unavailable.py); the message here is for the operator's log."""


def log_origin() -> str:
    return settings.TRANSPARENCY_LOG_ORIGIN


def log_signer() -> Signer:
    path = Path(settings.TRANSPARENCY_SIGNING_KEY)
    cached = _signers.get((str(path), log_origin()))
    if cached is not None:
        return cached
    if not path.exists():
        if not settings.TRANSPARENCY_GENERATE_KEY:
            raise LogKeyUnavailable(f"TRANSPARENCY_SIGNING_KEY: no key file at {path}")
        _generate(path)
    signer = Signer.parse(path.read_text())
    if signer.name != log_origin():
        raise LogKeyUnavailable(
            f"TRANSPARENCY_SIGNING_KEY: the key at {path} is named {signer.name!r}, the log is {log_origin()!r}. "
            f"The log's origin comes from TRANSPARENCY_LOG_ORIGIN, by default from PUBLIC_BASE_URL (and PORT): "
            f"set TRANSPARENCY_LOG_ORIGIN={signer.name} to keep this key, or, in development only, move the key "
            f"file away so that a new key is generated for {log_origin()!r} (checkpoints signed by the old key "
            f"then verify only with TRANSPARENCY_VERIFIER_KEYS)."
        )
    _signers[(str(path), log_origin())] = signer
    return signer


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(log_origin())
    try:
        # O_EXCL: two processes starting at once keep the first key written.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(signer.text + "\n")
    logger.warning("transparency log: generated a new signing key %s at %s", signer.verifier.text, path)


def log_verifiers() -> list[Verifier]:
    """The current key first, then the earlier ones still accepted."""
    current = log_signer().verifier
    others = [Verifier.parse(text) for text in settings.TRANSPARENCY_VERIFIER_KEYS]
    return [current, *(v for v in others if v != current)]
