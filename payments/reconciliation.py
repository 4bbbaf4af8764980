"""The daily reconciliation: our payments of one day against the provider's report of that day.
Every difference becomes a Mismatch that the department's finance staff see."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from payments.models import Mismatch, Payment, ReconciliationRun
from payments.providers import ProviderError, provider_get

logger = logging.getLogger("payments")


def _local_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def reconcile(*, day: datetime.date, provider_name: str | None = None) -> ReconciliationRun:
    """Compares one local day (Asia/Shanghai); run again for the same day, it starts afresh."""
    provider = provider_get(provider_name)
    start, end = _local_day_bounds(day)
    ours = {
        payment.provider_id: payment
        for payment in Payment.objects.filter(provider=provider.name, created_at__gte=start, created_at__lt=end)
        .exclude(provider_id="")
        .select_related("department")
    }
    with transaction.atomic():
        ReconciliationRun.objects.filter(provider=provider.name, day=day).delete()
        run = ReconciliationRun.objects.create(provider=provider.name, day=day)
    try:
        theirs = {row.provider_id: row for row in provider.report(day=day)}
    except ProviderError as exc:
        logger.warning("reconciliation of %s failed: %s", day, exc)
        ReconciliationRun.objects.filter(pk=run.pk).update(error=str(exc)[:2000], finished_at=timezone.now())
        run.refresh_from_db()
        return run
    found: list[Mismatch] = []

    def mismatch(kind: str, payment: Payment | None, provider_id: str, mine: object, other: object) -> None:
        found.append(
            Mismatch(
                run=run,
                kind=kind,
                payment=payment,
                department=payment.department if payment else None,
                provider_id=provider_id,
                ours=str(mine)[:100],
                theirs=str(other)[:100],
            )
        )

    for provider_id, payment in ours.items():
        row = theirs.get(provider_id)
        if row is None:
            mismatch(Mismatch.Kind.MISSING_AT_PROVIDER, payment, provider_id, payment.state, "")
            continue
        if row.state != payment.state:
            mismatch(Mismatch.Kind.STATE, payment, provider_id, payment.state, row.state)
        if row.amount_fen != payment.amount_fen:
            mismatch(Mismatch.Kind.AMOUNT, payment, provider_id, payment.amount_fen, row.amount_fen)
        if row.refunded_fen != payment.refunded_fen:
            mismatch(Mismatch.Kind.REFUNDED, payment, provider_id, payment.refunded_fen, row.refunded_fen)
    by_reference = {
        payment.reference: payment
        for payment in Payment.objects.filter(
            reference__in=[row.reference for pid, row in theirs.items() if pid not in ours]
        )
    }
    for provider_id, row in theirs.items():
        if provider_id not in ours:
            placed = by_reference.get(row.reference)
            mismatch(Mismatch.Kind.MISSING_HERE, placed, provider_id, "", f"{row.state} {row.amount_fen}")
    Mismatch.objects.bulk_create(found)
    ReconciliationRun.objects.filter(pk=run.pk).update(compared=len(ours), finished_at=timezone.now())
    run.refresh_from_db()
    if found:
        logger.warning("reconciliation of %s: %d mismatches", day, len(found))
    return run
