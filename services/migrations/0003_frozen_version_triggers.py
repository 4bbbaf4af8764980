"""Database triggers: a published or retired service version, its form fields, materials and
fees cannot be changed or deleted, whatever path the write takes (raw SQL included).

The one change allowed to a published version is its retirement (status and retired_at).
PostgreSQL (tests, production) and SQLite (embedded mode) each get their own dialect.
"""

from django.db import migrations

PARTS = ("services_formfield", "services_materialrequirement", "services_fee")

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION services_version_frozen() RETURNS trigger AS $$
    BEGIN
      IF OLD.status <> 'draft' THEN
        IF TG_OP = 'UPDATE' AND OLD.status = 'published' AND NEW.status = 'retired'
           AND (to_jsonb(NEW) - 'status' - 'retired_at') = (to_jsonb(OLD) - 'status' - 'retired_at') THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'service version % is % and cannot be changed', OLD.id, OLD.status
          USING ERRCODE = 'check_violation';
      END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER services_version_frozen BEFORE UPDATE OR DELETE ON services_serviceversion
    FOR EACH ROW EXECUTE FUNCTION services_version_frozen();
    """,
    """
    CREATE OR REPLACE FUNCTION services_version_part_frozen() RETURNS trigger AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
           SELECT 1 FROM services_serviceversion WHERE id = OLD.version_id AND status <> 'draft') THEN
        RAISE EXCEPTION 'rows of a published service version cannot be changed' USING ERRCODE = 'check_violation';
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
           SELECT 1 FROM services_serviceversion WHERE id = NEW.version_id AND status <> 'draft') THEN
        RAISE EXCEPTION 'rows of a published service version cannot be changed' USING ERRCODE = 'check_violation';
      END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    *[
        f"""
        CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION services_version_part_frozen();
        """
        for table in PARTS
    ],
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS services_version_frozen ON services_serviceversion;",
    *[f"DROP TRIGGER IF EXISTS {table}_frozen ON {table};" for table in PARTS],
    "DROP FUNCTION IF EXISTS services_version_frozen();",
    "DROP FUNCTION IF EXISTS services_version_part_frozen();",
]

SQLITE_FROZEN = "SELECT RAISE(ABORT, 'a published service version cannot be changed');"
SQLITE = [
    f"""
    CREATE TRIGGER services_version_frozen_update BEFORE UPDATE ON services_serviceversion
    WHEN OLD.status <> 'draft' AND NOT (
      OLD.status = 'published' AND NEW.status = 'retired'
      AND NEW.service_id IS OLD.service_id AND NEW.number IS OLD.number
      AND NEW.time_limit_days IS OLD.time_limit_days AND NEW.eligibility IS OLD.eligibility
      AND NEW.route IS OLD.route AND NEW.rejection_reasons IS OLD.rejection_reasons
      AND NEW.published_at IS OLD.published_at AND NEW.created_at IS OLD.created_at)
    BEGIN {SQLITE_FROZEN} END;
    """,
    f"""
    CREATE TRIGGER services_version_frozen_delete BEFORE DELETE ON services_serviceversion
    WHEN OLD.status <> 'draft' BEGIN {SQLITE_FROZEN} END;
    """,
]
for _table in PARTS:
    _published = "(SELECT status FROM services_serviceversion WHERE id = {row}.version_id) <> 'draft'"
    SQLITE += [
        f"CREATE TRIGGER {_table}_frozen_insert BEFORE INSERT ON {_table} "
        f"WHEN {_published.format(row='NEW')} BEGIN {SQLITE_FROZEN} END;",
        f"CREATE TRIGGER {_table}_frozen_update BEFORE UPDATE ON {_table} "
        f"WHEN {_published.format(row='OLD')} OR {_published.format(row='NEW')} BEGIN {SQLITE_FROZEN} END;",
        f"CREATE TRIGGER {_table}_frozen_delete BEFORE DELETE ON {_table} "
        f"WHEN {_published.format(row='OLD')} BEGIN {SQLITE_FROZEN} END;",
    ]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS services_version_frozen_update;",
    "DROP TRIGGER IF EXISTS services_version_frozen_delete;",
    *[f"DROP TRIGGER IF EXISTS {table}_frozen_{op};" for table in PARTS for op in ("insert", "update", "delete")],
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("services", "0002_catalogue_change_and_frozen_versions")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
