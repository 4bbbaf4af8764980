"""The transparency log replaces the hash chain (issue 16): no global lock in user transactions.

- The chain triggers of 0007_audit_chain go: the advisory lock taken by every insert and the
  read of "the last row". The refusal of UPDATE and DELETE stays.
- The chain columns (previous_hash, hash) are dropped; the old rows' content is what the log's
  leaves cover from now on.
- An AFTER INSERT trigger (one per statement, over its new rows) queues every new row in
  workflows_logpending, in the inserting transaction: a row of its own, no lock on anything
  shared. The sequencer (workflows/transparency/sequencer.py) integrates committed rows.
- Existing rows are queued here, oldest first, and become the first leaves on the sequencer's
  first run.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

TABLES = {"workflows_applicationevent": "application_event", "workflows_dataaccessrecord": "data_access"}

DROP_CHAIN = """
DROP TRIGGER IF EXISTS audit_chain ON {table};
DROP TRIGGER IF EXISTS audit_lock ON {table};
DROP FUNCTION IF EXISTS {table}_audit_chain();
DROP FUNCTION IF EXISTS {table}_audit_body({table});
"""

POSTGRESQL_QUEUE = """
CREATE OR REPLACE FUNCTION transparency_queue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workflows_logpending (source, row_id, created_at)
    SELECT TG_ARGV[0], id, created_at FROM new_rows ORDER BY id;
  RETURN NULL;
END $$;
"""

POSTGRESQL_TABLE_QUEUE = """
CREATE TRIGGER transparency_queue AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION transparency_queue('{source}');
"""

SQLITE_TABLE_QUEUE = """
CREATE TRIGGER transparency_queue_{source} AFTER INSERT ON {table} BEGIN
  INSERT INTO workflows_logpending (source, row_id, created_at) VALUES ('{source}', NEW.id, NEW.created_at);
END;
"""

BACKFILL = """
INSERT INTO workflows_logpending (source, row_id, created_at)
SELECT source, row_id, created_at FROM (
  SELECT 'application_event' AS source, id AS row_id, created_at FROM workflows_applicationevent
  UNION ALL
  SELECT 'data_access', id, created_at FROM workflows_dataaccessrecord
) AS existing ORDER BY created_at, source, row_id
"""


def drop_chain(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(DROP_CHAIN.format(table=table), None)
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_lock(); DROP FUNCTION IF EXISTS audit_hash(text, text);")


def install_queue(apps, schema_editor):
    schema_editor.execute(BACKFILL, None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_QUEUE, None)
        for table, source in TABLES.items():
            schema_editor.execute(POSTGRESQL_TABLE_QUEUE.format(table=table, source=source), None)
    else:
        for table, source in TABLES.items():
            schema_editor.execute(SQLITE_TABLE_QUEUE.format(table=table, source=source), None)


def uninstall_queue(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS transparency_queue ON {table};", None)
        schema_editor.execute("DROP FUNCTION IF EXISTS transparency_queue();", None)
    else:
        for source in TABLES.values():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS transparency_queue_{source};", None)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0016_identity_checked_at_counter"),
    ]

    operations = [
        # Forwards only: the chain cannot be rebuilt for rows written without it.
        migrations.RunPython(drop_chain, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("size", models.BigIntegerField(db_index=True)),
                ("root", models.BinaryField(max_length=32)),
                ("note", models.TextField()),
                ("key_id", models.CharField(max_length=8)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="LogHead",
            fields=[
                ("id", models.SmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("size", models.BigIntegerField(default=0)),
                ("edge", models.BinaryField(default=b"")),
                ("updated_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
        ),
        migrations.CreateModel(
            name="LogNode",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "level", "index", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("level", models.SmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("hash", models.BinaryField(max_length=32)),
            ],
        ),
        migrations.CreateModel(
            name="LogPending",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(
                        choices=[("application_event", "application event"), ("data_access", "data-access record")],
                        max_length=20,
                    ),
                ),
                ("row_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
        ),
        migrations.RemoveField(
            model_name="applicationevent",
            name="hash",
        ),
        migrations.RemoveField(
            model_name="applicationevent",
            name="previous_hash",
        ),
        migrations.RemoveField(
            model_name="dataaccessrecord",
            name="hash",
        ),
        migrations.RemoveField(
            model_name="dataaccessrecord",
            name="previous_hash",
        ),
        migrations.CreateModel(
            name="LogLeaf",
            fields=[
                ("index", models.BigIntegerField(primary_key=True, serialize=False)),
                (
                    "source",
                    models.CharField(
                        choices=[("application_event", "application event"), ("data_access", "data-access record")],
                        max_length=20,
                    ),
                ),
                ("row_id", models.BigIntegerField()),
                ("hash", models.BinaryField(max_length=32)),
                ("integrated_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("source", "row_id"), name="log_leaf_one_per_row")],
            },
        ),
        migrations.RunPython(install_queue, uninstall_queue),
    ]
