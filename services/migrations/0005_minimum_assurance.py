"""The sign-in level a service version needs.

On SQLite (embedded mode), adding a column rebuilds the table, which the frozen-version triggers
of 0003 would refuse (and the rebuild would drop the version's own triggers): they are dropped
first and made again after, the retirement check now comparing the new column too. PostgreSQL
adds the column in place and its triggers compare whole rows, so nothing else is needed there.
"""

from importlib import import_module

from django.db import migrations, models

frozen = import_module("services.migrations.0003_frozen_version_triggers")

SQLITE_AFTER = [
    statement.replace(
        "AND NEW.route IS OLD.route",
        "AND NEW.route IS OLD.route AND NEW.minimum_assurance IS OLD.minimum_assurance",
    )
    for statement in frozen.SQLITE
]


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0004_data_element_bound"),
    ]

    operations = [
        migrations.RunPython(_sqlite(frozen.SQLITE_REVERSE), _sqlite(SQLITE_AFTER)),
        migrations.AddField(
            model_name="serviceversion",
            name="minimum_assurance",
            field=models.CharField(
                choices=[
                    ("low", "Low: a password"),
                    ("substantial", "Substantial: national eID"),
                    ("high", "High: national eID and a second factor"),
                ],
                default="low",
                help_text="Low: any account. Substantial: national eID. High: national eID with a second factor.",
                max_length=20,
                verbose_name="sign-in level needed",
            ),
        ),
        migrations.RunPython(_sqlite(SQLITE_AFTER), _sqlite(frozen.SQLITE_REVERSE)),
    ]
