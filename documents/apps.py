from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Registers the deployment checks (scanner configured, scanning required); they import no models.
from documents import checks  # noqa: F401


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")
