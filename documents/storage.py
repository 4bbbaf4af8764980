"""Private storage: outside any public root, reachable only through permission-checked views."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


class PrivateFileSystemStorage(FileSystemStorage):
    """FileSystemStorage without URLs: with base_url=None Django would fall back to MEDIA_URL."""

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Private documents have no URL; serve them with documents.delivery.file_response.")


class PrivateStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = PrivateFileSystemStorage(location=settings.PRIVATE_STORAGE_ROOT)


private_storage = PrivateStorage()
