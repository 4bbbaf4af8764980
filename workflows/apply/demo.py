"""Alice's demo document vault: what a citizen who has dealt with the state before already has.

Used by seed_demo (portal/demo.py), the once-only report and the browser test. Each document
is a small real PDF, stored through the vault's own upload action (checked by content, scanned
when a scanner is configured), so nothing here bypasses the vault's rules. Where no scanner runs
(`make run`), the seed vouches for exactly the PDFs it has just made (a KnownContentScanner), so
clerks can open Alice's demo documents; anything else uploaded there stays "not yet checked".
Idempotent: the same bytes for the same owner are stored once.
"""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from accounts.models import User
from documents.actions import document_upload
from documents.models import Document
from documents.scanning import KnownContentScanner
from services.models import DocumentType

# Document type code → the file name Alice once uploaded. Deliberately not everything: a
# fire-safety plan (only for large premises) she has not got; that one is new to the state.
ALICE_DOCUMENTS = {
    "id-card": "alice-id-card.pdf",
    "lease-agreement": "lease-1-renmin-road.pdf",
    "floor-plan": "floor-plan-ground-floor.pdf",
    "household-register": "hukou-booklet.pdf",
    "marriage-certificate": "marriage-certificate.pdf",
    # She cooks in her own noodle house: the Health Commission issued her food handler's
    # certificate, so it is in her vault as issued, and the food permit never asks her to upload it.
    "health-certificate": "health-certificate-alice-wang.pdf",
}
# Issued by a department (not uploaded by Alice).
ISSUED_TO_ALICE = {"health-certificate"}


def demo_pdf(title: str, holder: str) -> bytes:
    """A one-page PDF that says what it is (the same text always gives the same bytes)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(title)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(72, 760, title)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 730, f"Holder: {holder}")
    pdf.drawString(72, 710, "Demonstration document of One Door. Not a real document.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def seed_demo_vault(user: User | None = None) -> list[Document]:
    """Stores Alice's demo documents in her vault (types missing from the catalogue are skipped)."""
    user = user or User.objects.get(username="alice")
    document_types = list(DocumentType.objects.filter(code__in=ALICE_DOCUMENTS).order_by("code"))
    contents = {document_type.pk: demo_pdf(document_type.name_en, user.name) for document_type in document_types}
    made_here = KnownContentScanner(contents.values(), vouched_by="the demo seed")
    documents = []
    for document_type in document_types:
        upload = SimpleUploadedFile(
            ALICE_DOCUMENTS[document_type.code], contents[document_type.pk], content_type="application/pdf"
        )
        documents.append(
            document_upload(
                owner=user,
                document_type=document_type,
                uploaded_file=upload,
                fallback_scanner=made_here,
                source=Document.Source.ISSUED if document_type.code in ISSUED_TO_ALICE else Document.Source.UPLOADED,
            )
        )
    return documents
