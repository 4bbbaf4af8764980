import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from portal.tracing import tracing_configure

tracing_configure(service="onedoor-web", instrument_django=True)
application = get_asgi_application()
