# ruff: noqa: S608 - table names come from model metadata, never from input
"""A fast bulk loader for the queue-at-scale scenario: PostgreSQL COPY, no ORM per row.

Seeds `count` more applications (each a single-service group, a review step in one of the
bench departments and an issue step waiting after it) spread evenly over BENCH_DEPARTMENTS
departments created here ("bq000"…), with one clerk per department. Called twice: up to
10,000 applications, then up to 1,000,000 (the second call adds the difference).

Columns the loader does not set get the model field's default, so a field another engineer
adds with a default does not break it.
"""

import csv
import datetime
import io
import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

CHUNK_ROWS = 20_000
APPLICANTS_PER_APPLICATION = 10  # one applicant per ten applications
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu"]
GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Tao", "Ming", "Hui", "Qiang", "Xiu", "Bo", "Ning"]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def department_code(index: int) -> str:
    return f"bq{index:03d}"


def clerk_username(index: int) -> str:
    return f"bench.clerk.{department_code(index)}"


def resident_id(n: int) -> str:
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=n % 20000)
    first = f"110105{born:%Y%m%d}{n % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(first, ID_WEIGHTS, strict=True))
    return first + "10X98765432"[total % 11]


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _defaults(model: type[models.Model], given: Sequence[str], now: datetime.datetime) -> dict[str, Any]:
    """Values for the columns not given: the field default, `now` for auto dates, else NULL."""
    extra: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.column in given or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            extra[f.column] = now
        elif f.has_default():
            extra[f.column] = f.get_default()
        elif f.null:
            continue
        elif isinstance(f, models.CharField | models.TextField):
            extra[f.column] = ""
        else:
            raise RuntimeError(f"the bench loader does not know a value for {model.__name__}.{f.name}")
    return extra


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows (tuples in `columns` order, id first) into the model's table."""
    now = timezone.now()
    extra = _defaults(model, columns, now)
    all_columns = [*columns, *extra]
    tail = [_text(value) for value in extra.values()]
    count = 0

    def chunks() -> Iterator[str]:
        nonlocal count
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow([("\\N" if v is None else v) for v in (*(_text(v) for v in row), *tail)])
            count += 1
            if count % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    table = model._meta.db_table
    column_list = ", ".join(f'"{c}"' for c in all_columns)
    sql = f"COPY \"{table}\" ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for chunk in chunks():
            copy.write(chunk)
    return count


def _next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')
        return int(cursor.fetchone()[0]) + 1


def _sync_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
        )


def _foreign_key_checks_deferred_to_the_end() -> bool:
    """Inside the load's transaction: the database's per-row foreign key checks off (a superuser
    only), so COMMIT does not run tens of millions of queued checks one row at a time (at 10M
    applications they took longer than the COPYs); `orphans` then checks every loaded reference
    set-wise. False (and nothing changed) for a role that may not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def orphans(model: type[models.Model], first_id: int) -> dict[str, int]:
    """The loaded rows (id >= first_id) of `model` whose foreign keys point at no row: one
    anti-join per foreign key, {field: count} for those that have any."""
    found = {}
    table = model._meta.db_table
    with connection.cursor() as cursor:
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey):
                continue
            target = field.related_model._meta
            cursor.execute(
                f'SELECT COUNT(*) FROM "{table}" c WHERE c.id >= %s AND c."{field.column}" IS NOT NULL '
                f'AND NOT EXISTS (SELECT 1 FROM "{target.db_table}" p WHERE p."{field.target_field.column}" = '
                f'c."{field.column}")',
                [first_id],
            )
            (count,) = cursor.fetchone()
            if count:
                found[field.name] = count
    return found


def bench_departments(count: int) -> list[Any]:
    """The bench departments and one clerk each (idempotent)."""
    from accounts.models import Department, Membership, Role, User

    departments = []
    with transaction.atomic():
        for index in range(count):
            code = department_code(index)
            department, _ = Department.objects.get_or_create(
                code=code,
                defaults={
                    "short_code": f"Q{index:03d}",
                    "name_en": f"Bench department {index}",
                    "name_zh": f"测试部门{index}",
                },
            )
            clerk, created = User.objects.get_or_create(
                username=clerk_username(index), defaults={"display_name": f"Bench clerk {index}"}
            )
            if created:
                clerk.set_unusable_password()
                clerk.save(update_fields=["password"])
            Membership.objects.get_or_create(user=clerk, department=department, role=Role.CLERK)
            departments.append(department)
    return departments


def loaded_count() -> int:
    from workflows.models import Application

    return Application.objects.filter(number__startswith="BQ").count()


def load(*, total: int, departments: int, seed: int = 8) -> dict[str, Any]:
    """Brings the bench applications up to `total`; returns what was added and how fast."""
    from accounts.models import User
    from services.models import ServiceVersion
    from workflows.models import Application, ApplicationGroup, WorkItem

    started = time.monotonic()
    depts = bench_departments(departments)
    clerks = dict(User.objects.filter(username__startswith="bench.clerk.").values_list("username", "id"))
    version = ServiceVersion.objects.select_related("service").get(
        service__code="business-licence", status=ServiceVersion.Status.PUBLISHED
    )
    have = loaded_count()
    add = total - have
    if add <= 0:
        return {"added": 0, "seconds": 0.0}
    rng = random.Random(seed + have)  # names only
    now = timezone.now()

    # Applicants: one per ten applications.
    user_start = _next_id(User)
    users_needed = max(1, add // APPLICANTS_PER_APPLICATION)
    user_columns = ["id", "username", "password", "display_name", "resident_id", "is_superuser", "is_staff",
                    "is_active", "date_joined", "first_name", "last_name", "email", "preferred_language"]  # fmt: skip

    def user_rows() -> Iterator[tuple]:
        for i in range(users_needed):
            uid = user_start + i
            name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)} {uid}"
            yield (uid, f"bq-u-{uid}", "!", name, resident_id(uid), False, False, True, now, "", "", "", "en")

    with transaction.atomic():
        checks_deferred = _foreign_key_checks_deferred_to_the_end()
        users = copy_rows(User, user_columns, user_rows())
        group_start, app_start, item_start = _next_id(ApplicationGroup), _next_id(Application), _next_id(WorkItem)
        statuses = ["open"] * 50 + ["claimed"] * 20 + ["done"] * 25 + ["waiting"] * 5

        def plan() -> Iterator[tuple[int, int, int, datetime.datetime, datetime.datetime, str, int]]:
            # Deterministic and cheap: a multiplicative hash of the row number instead of random().
            for i in range(add):
                n = have + i
                h = (n * 2654435761 + seed) % 4294967296
                submitted = now - datetime.timedelta(seconds=h % (60 * 86400))
                due = submitted + datetime.timedelta(days=3 + (h >> 8) % 18, seconds=(h >> 4) % 86400)
                yield n, n % departments, user_start + (i % users_needed), submitted, due, statuses[(h >> 12) % 100], i

        group_columns = ["id", "applicant_id", "data", "number", "submitted_at", "created_at", "updated_at"]
        copy_rows(
            ApplicationGroup,
            group_columns,
            ((group_start + i, applicant, {}, f"BQ{dept:03d}-{n:08d}", submitted, submitted, submitted)
             for n, dept, applicant, submitted, _due, _s, i in plan()),
        )  # fmt: skip
        app_columns = ["id", "group_id", "applicant_id", "number", "service_id", "service_version_id", "status",
                       "data", "statutory_due_at", "submitted_at", "created_at", "updated_at"]  # fmt: skip
        copy_rows(
            Application,
            app_columns,
            (
                (app_start + i, group_start + i, applicant, f"BQ{dept:03d}-{n:08d}", version.service_id, version.pk,
                 "in_progress",
                 {"person.full_name": f"Applicant {applicant}", "person.id_number": resident_id(applicant),
                  "business.name": f"Shop {n}", "business.legal_form": "individual"},
                 due, submitted, submitted, submitted)
                for n, dept, applicant, submitted, due, _s, i in plan()
            ),
        )  # fmt: skip
        dept_ids = [d.pk for d in depts]
        clerk_ids = [clerks[clerk_username(index)] for index in range(departments)]
        item_columns = ["id", "application_id", "step_key", "round", "department_id", "service_id", "kind",
                        "status", "assignee_id", "sla_days", "statutory_due_at", "opened_at", "claimed_at",
                        "finished_at", "created_at", "updated_at", "decision"]  # fmt: skip

        def item_rows() -> Iterator[tuple]:
            for n, dept, _applicant, submitted, due, status, i in plan():
                claimed = status in ("claimed", "done")
                opened = None if status == "waiting" else submitted
                yield (item_start + 2 * i, app_start + i, "examine", 1, dept_ids[dept], version.service_id, "review",
                       status,
                       clerk_ids[dept] if claimed else None, 3, due, opened, submitted if claimed else None,
                       submitted if status == "done" else None, submitted, submitted,
                       "approved" if status == "done" else "")  # fmt: skip
                yield (item_start + 2 * i + 1, app_start + i, "issue", 1, dept_ids[dept], version.service_id, "issue",
                       "open" if status == "done" else "waiting", None, None, None,
                       submitted if status == "done" else None, None, None, submitted, submitted, "")  # fmt: skip
                del n

        items = copy_rows(WorkItem, item_columns, item_rows())
        for model in (User, ApplicationGroup, Application, WorkItem):
            _sync_sequence(model)
        if checks_deferred:
            firsts = {User: user_start, ApplicationGroup: group_start, Application: app_start, WorkItem: item_start}
            broken = {model.__name__: found for model, first in firsts.items() if (found := orphans(model, first))}
            if broken:
                raise RuntimeError(f"the loaded rows point at rows that do not exist: {broken}")
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
    with connection.cursor() as cursor:
        for model in (User, ApplicationGroup, Application, WorkItem):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    seconds = time.monotonic() - started
    return {
        "added": add,
        "users": users,
        "work_items": items,
        "seconds": round(seconds, 1),
        "rows_per_second": round((users + 2 * add + items) / seconds),
    }


def vacuum() -> float:
    """VACUUM (ANALYZE) the tables the live figures read, as autovacuum would have by now on a
    running portal: the loader's COPY leaves the visibility map unset, so without it the
    index-only scans of live work items read the heap (the queue's and the dashboard's).

    Then a CHECKPOINT: at ten million applications the vacuum dirties gigabytes of pages, and the
    server's checkpoints (every few seconds then) would still be writing them while the pages
    are timed. On a running portal those writes happened long ago, in the background."""
    from workflows.models import Application, WorkItem

    started = time.monotonic()
    with connection.cursor() as cursor:
        for model in (WorkItem, Application):
            cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as exc:  # superuser or pg_checkpoint only; without it, timed as before
            print(f"[bench] no CHECKPOINT after the vacuum: {exc}".strip(), flush=True)
    return round(time.monotonic() - started, 1)
