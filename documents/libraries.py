"""The libraries of the documents' heavy work, imported together by the Celery worker.

Issuing a certificate draws it (reportlab, segno for its QR code) and signs it (the configured signer: pyHanko, the
signing authority and, in tests and the bench, the local test PKI); an upload is disarmed by
pikepdf or Pillow. Each of these modules imports its library where it is used, so that the web
process, which draws and signs nothing, starts without them. The worker does this work all day:
it imports them once in its main process before the pool forks (portal/celery.py), so its
children share them and a child's first certificate does not wait about a second for them.
"""

import importlib

from django.conf import settings

# What issuing and disarming import on first use (documents/certificates.py, documents/disarm/).
MODULES = (
    "reportlab.pdfgen.canvas",
    "reportlab.pdfbase.cidfonts",
    "segno",
    "documents.disarm.pdf",
    "documents.disarm.images",
)


def document_libraries_import() -> None:
    """Imports them, and the configured certificate signer's module (documents/signing/)."""
    for name in (*MODULES, settings.CERTIFICATE_SIGNER.rpartition(".")[0]):
        importlib.import_module(name)
