"""Audit rows become append-only and hash-chained (issue 9, part 4).

On PostgreSQL:
- BEFORE INSERT, per statement: take the audit advisory lock before the row's id is drawn from
  its sequence, so ids follow the order in which writers hold the lock (one lock for both
  tables, so a transaction writing both kinds of row cannot deadlock against another);
- BEFORE INSERT, per row: previous_hash = hash of the row with the highest id, hash = sha256 of
  previous_hash || "\n" || <table>_audit_body(row); an id not after the last row is refused;
- BEFORE UPDATE OR DELETE, per row: refused.
The lock is held until the inserting transaction ends, so the next writer reads a committed
last row (READ COMMITTED is required and checked).

On SQLite the model chains rows in Python (workflows.models.AuditChainedModel._do_insert).
Existing rows are chained here, in id order, before the refusal trigger exists.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import migrations, models

LOCK = "88200, 1"  # pg_advisory_xact_lock(int, int): the audit trail's one lock

BODIES = {
    "workflows_applicationevent": [
        ("application_id", "r.application_id::text"),
        ("work_item_id", "r.work_item_id::text"),
        ("actor_id", "r.actor_id::text"),
        ("kind", "r.kind"),
        ("from_status", "r.from_status"),
        ("to_status", "r.to_status"),
        ("reason", "r.reason"),
        ("payload", "r.payload::text"),
        ("created_at", "audit_timestamp(r.created_at)"),
    ],
    "workflows_dataaccessrecord": [
        ("accessor_id", "r.accessor_id::text"),
        ("department_id", "r.department_id::text"),
        ("applicant_id", "r.applicant_id::text"),
        ("application_id", "r.application_id::text"),
        ("work_item_id", "r.work_item_id::text"),
        ("document_id", "r.document_id::text"),
        ("what", "r.what"),
        ("field_key", "r.field_key"),
        ("created_at", "audit_timestamp(r.created_at)"),
    ],
}

COMMON = f"""
CREATE OR REPLACE FUNCTION audit_field(name text, value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT name || '=' || CASE WHEN value IS NULL THEN '~'
                             ELSE octet_length(value)::text || ':' || value END || E'\\n'
$$;

CREATE OR REPLACE FUNCTION audit_timestamp(value timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION audit_hash(previous_hash text, body text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(previous_hash || E'\\n' || body, 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION audit_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({LOCK});
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
"""


def table_sql(table: str) -> str:
    body = "\n      || ".join(f"audit_field('{name}', {expression})" for name, expression in BODIES[table])
    return f"""
CREATE OR REPLACE FUNCTION {table}_audit_body(r {table}) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT {body}
$$;

CREATE OR REPLACE FUNCTION {table}_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  last_id bigint;
  last_hash text;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION '{table} rows must be written in a READ COMMITTED transaction';
  END IF;
  PERFORM pg_advisory_xact_lock({LOCK});
  SELECT id, hash INTO last_id, last_hash FROM {table} ORDER BY id DESC LIMIT 1;
  IF last_id IS NOT NULL AND NEW.id <= last_id THEN
    RAISE EXCEPTION '{table} row id % is not after the last row %', NEW.id, last_id;
  END IF;
  NEW.previous_hash := coalesce(last_hash, '');
  NEW.hash := audit_hash(NEW.previous_hash, {table}_audit_body(NEW));
  RETURN NEW;
END $$;

DO $$
DECLARE
  r {table}%ROWTYPE;
  previous text := '';
BEGIN
  FOR r IN SELECT * FROM {table} ORDER BY id LOOP
    UPDATE {table} SET previous_hash = previous, hash = audit_hash(previous, {table}_audit_body(r))
      WHERE id = r.id RETURNING hash INTO previous;
  END LOOP;
END $$;

CREATE TRIGGER audit_lock BEFORE INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit_lock();
CREATE TRIGGER audit_chain BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_audit_chain();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""


def drop_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS audit_append_only ON {table};
DROP TRIGGER IF EXISTS audit_chain ON {table};
DROP TRIGGER IF EXISTS audit_lock ON {table};
DROP FUNCTION IF EXISTS {table}_audit_chain();
DROP FUNCTION IF EXISTS {table}_audit_body({table});
"""


# The chain's canonical text, as it was when this migration was written (the chain was replaced
# by the transparency log in 0017_transparency_log; these copies keep this migration runnable).
AUDIT_FIELDS = {
    "ApplicationEvent": [name for name, _ in BODIES["workflows_applicationevent"]],
    "DataAccessRecord": [name for name, _ in BODIES["workflows_dataaccessrecord"]],
}


def audit_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _json_text(value)


def _json_text(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def audit_hash(previous_hash: str, fields: list[tuple[str, str | None]]) -> str:
    body = "".join(f"{name}=~\n" if text is None else f"{name}={len(text.encode())}:{text}\n" for name, text in fields)
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COMMON, None)
        for table in BODIES:
            schema_editor.execute(table_sql(table), None)
        return
    # SQLite: chain the rows already there, in Python, as the model does for new rows.
    for model_name in ("ApplicationEvent", "DataAccessRecord"):
        model = apps.get_model("workflows", model_name)
        previous = ""
        for row in model.objects.order_by("id"):
            fields = [(name, audit_text(getattr(row, name))) for name in AUDIT_FIELDS[model_name]]
            digest = audit_hash(previous, fields)
            model.objects.filter(pk=row.pk).update(previous_hash=previous, hash=digest)
            previous = digest


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in BODIES:
            schema_editor.execute(drop_sql(table), None)
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS audit_refuse_change(); DROP FUNCTION IF EXISTS audit_lock();"
            " DROP FUNCTION IF EXISTS audit_hash(text, text); DROP FUNCTION IF EXISTS audit_timestamp(timestamptz);"
            " DROP FUNCTION IF EXISTS audit_field(text, text);"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0006_workbench_notes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="applicationevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="applicationevent",
            name="previous_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="dataaccessrecord",
            name="hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="dataaccessrecord",
            name="previous_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(install, uninstall),
    ]
