"""An index for the revocation list read each time a certificate is signed: a department's
revoked certificates only, so the read no longer scans every certificate ever issued. Built
CONCURRENTLY on PostgreSQL, for a running portal."""

from django.db import migrations, models

from lib.online_index import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("documents", "0008_document_erased_at"),
    ]

    operations = [
        AddIndexOnline(
            model_name="certificate",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", False)),
                fields=["issued_by", "revoked_at"],
                name="certificate_revoked",
            ),
        ),
    ]
