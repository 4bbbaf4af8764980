"""Indexes for the clerk queue's search (workflows.workbench.selectors.search_candidates).

PostgreSQL only (SQLite, the embedded mode, scans — its queues are small): every branch of the
search gets an index matching the SQL Django writes for it, so a search finds its applications
without walking the department's queue:

- application number, prefix (`istartswith`): btree on UPPER(number) text_pattern_ops;
- applicant name, substring (`icontains`): trigram GIN on UPPER(accounts_user.display_name)
  (needs the pg_trgm extension; when the database user may not create it, this index is left
  out and the name branch scans);
- ID number as given on the application and the account's (`iexact`): btree on UPPER(...).

The two on accounts_user belong to the queue's search, not to the accounts app: they are named
workbench_search_* and created and dropped here.
"""

from django.db import DatabaseError, migrations, transaction

INDEXES = [
    (
        "workbench_search_app_number",
        "CREATE INDEX IF NOT EXISTS workbench_search_app_number ON workflows_application "
        "(UPPER(number::text) text_pattern_ops)",
    ),
    (
        "workbench_search_app_id_number",
        "CREATE INDEX IF NOT EXISTS workbench_search_app_id_number ON workflows_application "
        "(UPPER((data ->> 'person.id_number')::text))",
    ),
    (
        "workbench_search_user_resident_id",
        "CREATE INDEX IF NOT EXISTS workbench_search_user_resident_id ON accounts_user (UPPER(resident_id::text))",
    ),
]
TRIGRAM = (
    "workbench_search_user_name_trgm",
    "CREATE INDEX IF NOT EXISTS workbench_search_user_name_trgm ON accounts_user "
    "USING gin (UPPER(display_name::text) gin_trgm_ops)",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _name, sql in INDEXES:
        schema_editor.execute(sql)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(TRIGRAM[1])
    except DatabaseError:
        pass  # not allowed to create the extension: the name search scans the queue instead
    # Statistics for the new expressions, so the planner uses them from the first search.
    schema_editor.execute("ANALYZE workflows_application")
    schema_editor.execute("ANALYZE accounts_user")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _sql in [*INDEXES, TRIGRAM]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("workflows", "0008_workbench_live_queue_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
