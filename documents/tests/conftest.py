"""Fixtures of the vault's tests: document types and real files made on the fly."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from reportlab.pdfgen import canvas

from services.models import DocumentType


def make_pdf(text: str = "Tenancy agreement") -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.save()
    return buffer.getvalue()


def make_png(colour: str = "teal", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_jpeg(colour: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def lease_type(db) -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="test-lease",
        defaults={
            "name_en": "Tenancy agreement",
            "name_zh": "租赁合同",
            "allowed_content_types": ["application/pdf", "image/jpeg", "image/png"],
            "max_bytes": 200_000,
            "validity_days": 365,
        },
    )[0]


@pytest.fixture
def photo_type(db) -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="test-photo",
        defaults={
            "name_en": "Passport photo",
            "name_zh": "证件照",
            "allowed_content_types": ["image/jpeg", "image/png"],
            "max_bytes": 100_000,
            "validity_days": None,
        },
    )[0]


@pytest.fixture
def certificate_type(db) -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="test-food-licence",
        defaults={
            "name_en": "Food business licence",
            "name_zh": "食品经营许可证",
            "allowed_content_types": ["application/pdf"],
            "max_bytes": 5_000_000,
            "validity_days": 5 * 365,
        },
    )[0]
