"""Growth: work done is pruned after its retention, in batches, and nothing else is; the audit
tables are partitioned by month on PostgreSQL, their rows refused change in every partition, and
the daily task makes next months' partitions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from workflows.growth.partitions import AUDIT_TABLES, audit_partitions_ensure, partitions_of
from workflows.growth.pruning import growth_prune
from workflows.models import (
    ApplicationEvent,
    DataAccessRecord,
    LogPending,
    Notification,
    NotificationDelivery,
    OutboxMessage,
)
from workflows.tests.factories import application_submit, published_version

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def retention(settings):
    settings.OUTBOX_RETENTION_DAYS = 7
    settings.NOTIFICATION_DELIVERY_RETENTION_DAYS = 90
    settings.NOTIFICATION_RETENTION_DAYS = 730
    return settings


def outbox_row(*, confirmed_days_ago: float | None) -> OutboxMessage:
    confirmed = None if confirmed_days_ago is None else NOW - confirmed_days_ago * DAY
    return OutboxMessage.objects.create(task="workflows.application_start", kwargs={}, confirmed_at=confirmed)


def notification(user, *, days_ago: float, deliveries: dict[str, tuple[str, float]]) -> Notification:
    """A notification `days_ago` old with deliveries {channel: (state, days since last change)}."""
    note = Notification.objects.create(user=user, event="receipt", subject="Received", body="We have it.")
    Notification.objects.filter(pk=note.pk).update(created_at=NOW - days_ago * DAY)
    for channel, (state, changed_days_ago) in deliveries.items():
        delivery = NotificationDelivery.objects.create(notification=note, channel=channel, state=state)
        NotificationDelivery.objects.filter(pk=delivery.pk).update(updated_at=NOW - changed_days_ago * DAY)
    return note


def test_confirmed_outbox_rows_past_retention_go_and_unconfirmed_ones_never(retention):
    old = [outbox_row(confirmed_days_ago=8) for _ in range(5)]
    recent = outbox_row(confirmed_days_ago=6)
    stuck = outbox_row(confirmed_days_ago=None)  # never confirmed: the relay still needs it
    result = growth_prune(now=NOW, batch=2)
    assert result.outbox == 5 and result.complete
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, stuck.pk}
    assert not OutboxMessage.objects.filter(pk__in=[row.pk for row in old]).exists()
    assert growth_prune(now=NOW).outbox == 0  # twice prunes nothing twice


def test_finished_deliveries_go_after_their_retention_and_the_inbox_keeps_the_notification(retention, alice):
    note = notification(
        alice,
        days_ago=100,
        deliveries={"in_app": ("sent", 100), "email": ("failed", 95), "sms": ("retrying", 100)},
    )
    fresh = notification(alice, days_ago=10, deliveries={"email": ("sent", 10)})
    result = growth_prune(now=NOW)
    assert result.deliveries == 2 and result.notifications == 0
    assert list(note.deliveries.values_list("channel", flat=True)) == ["sms"]  # still to send: kept
    assert fresh.deliveries.count() == 1
    assert Notification.objects.filter(pk=note.pk).exists()


def test_notifications_leave_the_inbox_after_their_retention_unless_a_delivery_is_still_to_make(retention, alice):
    gone = notification(alice, days_ago=731, deliveries={"in_app": ("sent", 731), "email": ("sent", 20)})
    waiting = notification(alice, days_ago=731, deliveries={"email": ("retrying", 1)})
    kept = notification(alice, days_ago=729, deliveries={"in_app": ("sent", 729)})
    result = growth_prune(now=NOW)
    assert result.notifications == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {waiting.pk, kept.pk}
    assert not NotificationDelivery.objects.filter(notification_id=gone.pk).exists()


def test_zero_days_keeps_everything(retention, alice):
    retention.OUTBOX_RETENTION_DAYS = 0
    retention.NOTIFICATION_DELIVERY_RETENTION_DAYS = 0
    retention.NOTIFICATION_RETENTION_DAYS = 0
    outbox_row(confirmed_days_ago=4000)
    notification(alice, days_ago=4000, deliveries={"email": ("sent", 4000)})
    assert growth_prune(now=NOW) == growth_prune(now=NOW).__class__()
    assert OutboxMessage.objects.count() == 1 and NotificationDelivery.objects.count() == 1


def test_a_run_stops_between_batches_at_its_time_limit_and_the_next_goes_on(retention):
    for _ in range(5):
        outbox_row(confirmed_days_ago=30)
    first = growth_prune(now=NOW, batch=2, max_seconds=0)
    assert (first.outbox, first.complete) == (2, False)
    second = growth_prune(now=NOW, batch=2)
    assert (second.outbox, second.complete) == (3, True)


def test_the_command_says_what_it_pruned(retention, capsys, time_machine):
    time_machine.move_to(NOW, tick=False)
    outbox_row(confirmed_days_ago=8)
    call_command("growth_prune")
    assert "Pruned 1 outbox rows, 0 notification deliveries and 0 notifications." in capsys.readouterr().out


def test_evidence_is_never_pruned(retention, alice, clerk_a, time_machine):
    time_machine.move_to(NOW - 4000 * DAY, tick=False)
    application = application_submit(applicant=alice, version=published_version(), start=False)
    DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, application=application, what="view_application")
    events = ApplicationEvent.objects.count()
    time_machine.move_to(NOW, tick=False)
    growth_prune(now=NOW)
    assert ApplicationEvent.objects.count() == events and DataAccessRecord.objects.count() == 1


def explain(queryset) -> str:
    with connection.cursor() as cursor:
        sql, params = queryset.query.sql_with_params()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
def test_each_prune_finds_its_rows_through_an_index():
    cutoff = NOW - 7 * DAY
    plans = {
        "outbox_confirmed": explain(
            OutboxMessage.objects.filter(confirmed_at__isnull=False, confirmed_at__lt=cutoff).values("pk")[:1000]
        ),
        "notification_delivery_finished": explain(
            NotificationDelivery.objects.filter(state__in=["sent", "failed"], updated_at__lt=cutoff).values("pk")[:1000]
        ),
        "notification_created": explain(Notification.objects.filter(created_at__lt=cutoff).values("pk")[:1000]),
    }
    for index, plan in plans.items():
        assert index in plan, plan


# --- Partitions (PostgreSQL) ---------------------------------------------------------------

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL's")


@postgresql_only
def test_the_audit_tables_are_partitioned_by_month_with_a_default_partition():
    for table in AUDIT_TABLES:
        names = partitions_of(table)
        assert f"{table}_p0" in names and f"{table}_default" in names
        assert any(name.startswith(f"{table}_y") for name in names)


@postgresql_only
def test_rows_of_every_month_land_in_their_partition_and_refuse_change_there(alice, clerk_a, time_machine):
    audit_partitions_ensure(months_ahead=2)
    ahead = timezone.now().astimezone(UTC) + timedelta(days=40)
    time_machine.move_to(ahead, tick=False)
    application = application_submit(applicant=alice, version=published_version(), start=False)
    record = DataAccessRecord.objects.create(
        accessor=clerk_a, applicant=alice, application=application, what="view_application"
    )
    partition = f"workflows_dataaccessrecord_y{ahead:%Y}m{ahead:%m}"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id FROM "{partition}"')
        assert [row[0] for row in cursor.fetchall()] == [record.pk]
        # The refusal of 0007 holds in the partition itself, not only through the parent.
        for statement in (f'UPDATE "{partition}" SET field_key = %s', f'DELETE FROM "{partition}" WHERE %s = %s'):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute(statement, ["x"] if "UPDATE" in statement else [1, 1])
    # The transparency log's queue trigger still sees every insert.
    assert LogPending.objects.filter(source="data_access", row_id=record.pk).exists()
    assert DataAccessRecord.objects.get(pk=record.pk).what == "view_application"


@postgresql_only
def test_the_daily_task_makes_the_missing_months_once_and_a_month_already_in_the_default_stays_there(
    alice, clerk_a, time_machine, caplog
):
    far = timezone.localdate().replace(day=1) + timedelta(days=31 * 30)  # about 30 months ahead
    report = audit_partitions_ensure(months_ahead=2, today=far)
    assert len(report.created) == 2 * 3 and not report.failed
    assert audit_partitions_ensure(months_ahead=2, today=far).created == []  # idempotent
    # A row of a month nobody made a partition for goes to the default partition...
    later = datetime(far.year + 2, far.month, 10, tzinfo=UTC)
    time_machine.move_to(later, tick=False)
    application = application_submit(applicant=alice, version=published_version(), start=False)
    record = DataAccessRecord.objects.create(
        accessor=clerk_a, applicant=alice, application=application, what="view_application"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM workflows_dataaccessrecord_default")
        assert [row[0] for row in cursor.fetchall()] == [record.pk]
    # ... and that month cannot get its own partition: reported, the rows stay where they are.
    report = audit_partitions_ensure(months_ahead=0, today=later.date())  # local-date: a UTC month
    assert report.created == [f"workflows_applicationevent_y{later:%Y}m{later:%m}"]
    assert report.failed == [f"workflows_dataaccessrecord_y{later:%Y}m{later:%m}"]
    assert "default partition already holds rows" in caplog.text
    assert DataAccessRecord.objects.filter(pk=record.pk).exists()
