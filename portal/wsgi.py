import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from portal.tracing import tracing_configure

# Before the application loads its middleware: Django's tracing middleware goes in first.
tracing_configure(service="onedoor-web", instrument_django=True)
application = get_wsgi_application()
