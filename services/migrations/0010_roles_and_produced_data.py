
"""Roles of a form's person elements, the data a version produces for its life event, and the
register that holds a data element.

On SQLite (embedded mode), adding columns to services_serviceversion rebuilds it, which the
frozen-version triggers would refuse: they are dropped first and made again after (as in 0005),
the retirement check now comparing the new columns too. PostgreSQL adds the columns in place.
"""

from importlib import import_module

from django.db import migrations, models

frozen = import_module("services.migrations.0003_frozen_version_triggers")
assurance = import_module("services.migrations.0005_minimum_assurance")

SQLITE_AFTER = [
    statement.replace(
        "AND NEW.minimum_assurance IS OLD.minimum_assurance",
        "AND NEW.minimum_assurance IS OLD.minimum_assurance AND NEW.roles IS OLD.roles "
        "AND NEW.produces IS OLD.produces",
    )
    for statement in assurance.SQLITE_AFTER
]


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('services', '0009_fee_rules'),
    ]

    operations = [
        migrations.RunPython(_sqlite(frozen.SQLITE_REVERSE), _sqlite(assurance.SQLITE_AFTER)),
        migrations.AddField(
            model_name='dataelement',
            name='held_by',
            field=models.CharField(blank=True, help_text='The register that already holds this datum; empty when only the applicant can tell it.', max_length=200, verbose_name='held by'),
        ),
        migrations.AddField(
            model_name='serviceversion',
            name='produces',
            field=models.JSONField(blank=True, default=list, verbose_name='produces'),
        ),
        migrations.AddField(
            model_name='serviceversion',
            name='roles',
            field=models.JSONField(blank=True, default=list, verbose_name='roles'),
        ),
        migrations.RunPython(_sqlite(SQLITE_AFTER), _sqlite(frozen.SQLITE_REVERSE)),
    ]
