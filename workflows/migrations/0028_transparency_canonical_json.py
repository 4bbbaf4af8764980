"""The sequencer encodes leaves in PostgreSQL (workflows/transparency/leaves.py, issue 16).

`transparency_json(jsonb)` writes a JSON value exactly as Python's
`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes the value
psycopg2 reads from it: keys in code-point order (the bytes of UTF-8 under COLLATE "C" sort the
same way), no spaces, strings escaped as both escape them (`\\"`, `\\\\`, `\\b\\f\\n\\r\\t`, other
control characters as lower-case `\\u00xx`, nothing else). Numbers that are not whole are the one
place the two can differ (PostgreSQL prints 1E-7 as 0.0000001, Python as 1e-07), so for a value
holding one the function answers NULL and the sequencer encodes that row in Python instead.
verify_audit always recomputes leaves in Python, so a difference could never pass unseen.
"""

from django.db import migrations

CANONICAL_JSON = r"""
CREATE OR REPLACE FUNCTION transparency_json(value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  result text;
  parts bigint;
  encoded bigint;
BEGIN
  CASE jsonb_typeof(value)
  WHEN 'object' THEN
    IF value = '{}'::jsonb THEN
      RETURN '{}';
    END IF;
    SELECT '{' || string_agg(to_json(key)::text || ':' || part, ',' ORDER BY key COLLATE "C") || '}',
           count(*), count(part)
      INTO result, parts, encoded
      FROM (SELECT key, transparency_json(item) AS part FROM jsonb_each(value) AS e(key, item)) AS members;
  WHEN 'array' THEN
    IF value = '[]'::jsonb THEN
      RETURN '[]';
    END IF;
    SELECT '[' || string_agg(part, ',' ORDER BY position) || ']', count(*), count(part)
      INTO result, parts, encoded
      FROM (SELECT position, transparency_json(item) AS part
              FROM jsonb_array_elements(value) WITH ORDINALITY AS a(item, position)) AS elements;
  WHEN 'number' THEN
    result := value::text;
    RETURN CASE WHEN result ~ '^-?[0-9]+$' THEN result END;
  ELSE
    RETURN value::text;  -- a string (escaped as to_json escapes text), true, false or null
  END CASE;
  RETURN CASE WHEN parts = encoded THEN result END;  -- NULL when any member could not be encoded
END $$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CANONICAL_JSON, None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS transparency_json(jsonb);", None)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0027_event_kinds_of_bundles"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
