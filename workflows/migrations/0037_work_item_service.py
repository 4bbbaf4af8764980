"""Work items carry their application's service (WorkItem.service), and the live-overdue index
carries department, service and step, so the dashboard's "ahead" count is one index-only scan.

Written for a portal that is running, with tens of millions of work items:
- not atomic: the column is added first (no rewrite: it is nullable), the backfill then commits
  in batches of BATCH work item ids, each an `UPDATE … FROM` by primary key range, so no long
  transaction holds the table's rows and a stopped migration resumes where it stood (only rows
  still without a service are written);
- the index is dropped and built again CONCURRENTLY on PostgreSQL (no lock on writes while it
  builds); between the two the administrator's overdue list reads the table without it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from lib.online_index import AddIndexOnline, RemoveIndexOnline

BATCH = 50_000
INDEX = "work_item_live_overdue"


def backfill(apps, schema_editor):
    WorkItem = apps.get_model("workflows", "WorkItem")
    Application = apps.get_model("workflows", "Application")
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        for application, service in Application.objects.filter(work_items__service__isnull=True).values_list(
            "pk", "service_id"
        ).distinct():
            WorkItem.objects.filter(application_id=application, service__isnull=True).update(service_id=service)
        return
    item, application = WorkItem._meta.db_table, Application._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MIN("id"), MAX("id") FROM "{item}"')  # noqa: S608 - table names from the models
        first, last = cursor.fetchone()
        if first is None:
            return
        for start in range(first, last + 1, BATCH):
            cursor.execute(
                f'UPDATE "{item}" w SET "service_id" = a."service_id" FROM "{application}" a '  # noqa: S608
                f'WHERE a."id" = w."application_id" AND w."id" >= %s AND w."id" < %s AND w."service_id" IS NULL',
                [start, start + BATCH],
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0011_verified_attribute_register_source"),
        ("services", "0011_offer_rules"),
        ("workflows", "0036_work_item_live_mine_status"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="workitem",
            name="service",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="services.service",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        RemoveIndexOnline(model_name="workitem", name=INDEX),
        AddIndexOnline(
            model_name="workitem",
            index=models.Index(
                condition=models.Q(("clock_stopped_at__isnull", True), ("status__in", ["waiting", "open", "claimed", "failed"])),
                fields=["statutory_due_at", "id"],
                include=("department", "service", "step_key"),
                name=INDEX,
            ),
        ),
    ]
