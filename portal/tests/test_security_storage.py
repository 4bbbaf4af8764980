"""Private documents live outside every public root and no URL serves that folder (OWASP ASVS
V12). The upload checks themselves (type by content, size, server names, antivirus failing
closed) are tested with documents/validation.py in documents/tests."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.views import static

pytestmark = pytest.mark.django_db


def overlaps(a: Path, b: Path) -> bool:
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def test_the_private_root_is_outside_every_public_root():
    private = Path(settings.PRIVATE_STORAGE_ROOT)
    public_roots = [settings.STATIC_ROOT, settings.MEDIA_ROOT, *settings.STATICFILES_DIRS]
    if getattr(settings, "WHITENOISE_ROOT", None):
        public_roots.append(settings.WHITENOISE_ROOT)
    for root in public_roots:
        assert not overlaps(private, root), (private, root)


def all_patterns(patterns=None):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from all_patterns(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry


def test_no_url_serves_files_from_a_folder():
    for pattern in all_patterns():
        assert pattern.callback is not static.serve, pattern
        root = pattern.default_args.get("document_root")
        assert root is None, pattern


def test_a_file_in_the_private_root_cannot_be_fetched_by_its_name(client, alice):
    private = Path(settings.PRIVATE_STORAGE_ROOT)
    private.mkdir(parents=True, exist_ok=True)
    secret = private / "security-probe-4f1c.txt"
    secret.write_text("classified-body-7d2e9")
    try:
        client.force_login(alice)
        for prefix in ("/", "/static/", settings.MEDIA_URL, "/media/", "/private/", "/test-private/", "/var/private/"):
            response = client.get(f"{prefix}{secret.name}")
            assert response.status_code == 404, prefix
            assert b"classified-body-7d2e9" not in b"".join(
                getattr(response, "streaming_content", [response.content])
            ), prefix
    finally:
        secret.unlink()
