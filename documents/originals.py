"""The original of every upload, sealed at rest: evidence of what the person sent, never served.

Sealed with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`). The keys come from
`DOCUMENT_ORIGINALS_KEYS` (the first seals, every one opens, so keys can be rotated); outside
production, when none is set, a key is made once in `DOCUMENT_ORIGINALS_KEY_FILE` under var/.
Production refuses to start sealing without a configured key (documents.E003 in check --deploy).
"""

import os
import uuid

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from documents.storage import private_storage


def _development_key() -> bytes:
    path = settings.DOCUMENT_ORIGINALS_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once make one key, not two.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


def keys_configured() -> bool:
    return bool(settings.DOCUMENT_ORIGINALS_KEYS)


def _fernet() -> MultiFernet:
    keys = [key.encode() for key in settings.DOCUMENT_ORIGINALS_KEYS]
    if not keys:
        if settings.PRODUCTION:
            raise ImproperlyConfigured("DOCUMENT_ORIGINALS_KEYS must be set in production.")
        keys = [_development_key()]
    return MultiFernet([Fernet(key) for key in keys])


def original_seal(content: bytes) -> str:
    """Stores the sealed bytes under a new private name and returns the name."""
    token = uuid.uuid4().hex
    return private_storage.save(f"originals/{token[:2]}/{token}.sealed", ContentFile(_fernet().encrypt(content)))


def original_open(name: str) -> bytes:
    """The original bytes (for an investigation, from the shell; no view calls this)."""
    with private_storage.open(name, "rb") as handle:
        return _fernet().decrypt(handle.read())
