"""The document type of electronic receipts, issued into the payer's vault."""

from django.db import migrations


def create(apps, schema_editor):
    DocumentType = apps.get_model("services", "DocumentType")
    DocumentType.objects.get_or_create(
        code="payment-receipt",
        defaults={
            "name_en": "Payment receipt",
            "name_zh": "缴费电子票据",
            "allowed_content_types": ["application/pdf"],
            "max_pages": 5,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("services", "0009_fee_rules"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
