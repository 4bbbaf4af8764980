"""Vault files live outside every public root: no static or media URL reaches them, and they have no URL."""

import pytest
from django.conf import settings

from documents.actions import document_upload
from documents.storage import private_storage
from documents.tests.conftest import make_pdf, upload

pytestmark = pytest.mark.django_db


def test_private_storage_is_outside_every_public_folder():
    root = private_storage.location
    public = [settings.STATIC_ROOT, settings.MEDIA_ROOT, *settings.STATICFILES_DIRS]
    for folder in public:
        assert not str(root).startswith(str(folder)), f"{root} is inside the public folder {folder}"


def test_private_files_have_no_url(alice, lease_type):
    document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("a.pdf", make_pdf()))
    with pytest.raises(NotImplementedError):
        private_storage.url(document.file.name)
    with pytest.raises(NotImplementedError):
        _ = document.file.url


def test_no_public_url_serves_a_stored_file(client, alice, lease_type):
    document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("a.pdf", make_pdf()))
    name = document.file.name
    basename = name.rsplit("/", 1)[1]
    client.force_login(alice)  # even the owner: only the permission-checked view serves it
    for url in [
        f"/static/{name}",
        f"/static/{basename}",
        f"/media/{name}",
        f"{settings.MEDIA_URL}{name}",
        f"/private/{name}",
        f"/test-private/{name}",
        f"/var/test-private/{name}",
        f"/protected/{name}",
        f"/{name}",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
    assert client.get(f"/vault/{document.pk}/download/").status_code == 200
