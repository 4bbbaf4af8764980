"""Rules every transition of the engine shares: the lock order, who acts for an applicant, and
the refusals that end a transition before it changes anything."""

from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field, Model, Q
from django.utils.translation import gettext as _

from accounts.models import User
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.selectors import delegated_to
from workflows.models import Application, Timer, WorkItem

DEADLINE_TIMERS = (Timer.Kind.DEADLINE_WARNING, Timer.Kind.ESCALATION)
CORRECTION_TIMERS = (Timer.Kind.CORRECTION_DEADLINE, Timer.Kind.CORRECTION_REMINDER)


def lock_application_of_item(work_item_id: int) -> Application:
    """The application of a work item, locked (the engine's lock order: application first)."""
    application = routing.application_lock_of_item(work_item_id)
    if application is None:
        raise TransitionRefused(_("This work item does not exist."))
    return application


# One statement that takes the application's lock as every transition does (FOR UPDATE, before
# any work item row), then updates the work item only where `where` still holds, and returns the
# application as locked and the item as updated (no item: nothing matched). The UPDATE reads the
# item as of the statement's start; one that changed while this waited for the lock is read again
# as committed and `where` checked on it (READ COMMITTED), so a condition on the item's own
# columns is as safe as in an UPDATE made after the lock. Only the item is read that way: a
# transition that must see the application's other work items reads them in a later statement.
UPDATE_WITH_LOCK_SQL = """
    WITH locked AS MATERIALIZED (
        SELECT {application_columns} FROM {application_table}
        WHERE id = (SELECT application_id FROM {item_table} WHERE id = %s)
        FOR UPDATE
    ), updated AS (
        UPDATE {item_table} SET {assignments}
        FROM locked
        WHERE {item_table}.id = %s AND {item_table}.application_id = locked.id
            AND locked.status NOT IN ({finished}) AND {where}
        RETURNING {item_columns}
    )
    SELECT locked.*, updated.* FROM locked LEFT JOIN updated ON true
"""


def item_update_with_locked_application(
    work_item_id: int, *, where: Q, values: dict[str, Any]
) -> tuple[Application, WorkItem | None]:
    """The application of the work item, locked, and the item updated with `values` where `where`
    holds and the application is not finished, in one statement on PostgreSQL (UPDATE_WITH_LOCK_SQL);
    elsewhere the lock, then a conditional UPDATE and a read of the item. Returns the application
    and the updated item, or None for the item when nothing was updated: the caller says why,
    from the item read again. Refuses a work item that does not exist."""
    assert transaction.get_connection().in_atomic_block, "lock the application inside a transaction"
    using = router.db_for_write(WorkItem)
    connection = connections[using]
    if connection.vendor != "postgresql":
        application = lock_application_of_item(work_item_id)
        if application.is_finished:
            return application, None
        changed = WorkItem.objects.filter(where, pk=work_item_id).update(**values)
        if changed != 1:
            return application, None
        item = WorkItem.objects.get(pk=work_item_id)
        item.application = application
        return application, item
    quote = connection.ops.quote_name

    def column(field: Field) -> str:
        assert field.column, f"{field.name} is not a column"
        return quote(field.column)

    updates = WorkItem.objects.filter(where).query
    compiler = updates.get_compiler(using)
    where_sql, where_params = compiler.compile(updates.where)
    assignments, assignment_params = [], []
    for name, value in values.items():
        field = WorkItem._meta.get_field(name)
        assert isinstance(field, Field), f"{name} is not a column of the work item"
        if isinstance(value, Model):  # a related row: its key
            value = value.pk
        assignments.append(f"{column(field)} = %s")
        assignment_params.append(field.get_db_prep_save(value, connection))
    application_fields = Application._meta.concrete_fields
    item_fields = WorkItem._meta.concrete_fields
    item_table = quote(WorkItem._meta.db_table)
    sql = UPDATE_WITH_LOCK_SQL.format(
        application_columns=", ".join(column(field) for field in application_fields),
        application_table=quote(Application._meta.db_table),
        item_table=item_table,
        assignments=", ".join(assignments),
        finished=", ".join(["%s"] * len(Application.FINISHED)),
        where=where_sql,
        item_columns=", ".join(f"{item_table}.{column(field)}" for field in item_fields),
    )
    params = [work_item_id, *assignment_params, work_item_id, *Application.FINISHED, *where_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise TransitionRefused(_("This work item does not exist."))
    application = routing.with_version(_instance(Application, row[: len(application_fields)], using))
    if row[len(application_fields)] is None:
        return application, None
    item = _instance(WorkItem, row[len(application_fields) :], using)
    item.application = application
    return application, item


def _instance(model: type[Model], values: tuple[Any, ...], using: str) -> Any:
    """A model instance from the values of its concrete columns, in order, converted as the ORM
    converts what it reads (JSON, dates)."""
    fields = model._meta.concrete_fields
    compiler = model._default_manager.db_manager(using).all().query.get_compiler(using)
    converters = compiler.get_converters([field.get_col(model._meta.db_table) for field in fields])
    (converted,) = compiler.apply_converters([list(values)], converters)
    return model.from_db(using, [field.attname for field in fields], list(converted))


def locked_items(work_item_id: int) -> tuple[Application, WorkItem, dict[str, WorkItem]]:
    """The work item, its application and the application's current work items, all locked
    (application first, as everywhere), read once for the whole transition."""
    application = lock_application_of_item(work_item_id)
    current = routing.current_items(application, lock=True)
    item = next((found for found in current.values() if found.pk == work_item_id), None)
    if item is None:  # an earlier round of a transferred step
        item = (
            WorkItem.objects.select_for_update(of=("self",))
            .select_related("department", "assignee")
            .get(pk=work_item_id)
        )
        item.application = application
    return application, item, current


def locked_item(work_item_id: int) -> tuple[Application, WorkItem]:
    """The work item and its application, both locked (application first, as everywhere)."""
    application = lock_application_of_item(work_item_id)
    item = (
        WorkItem.objects.select_for_update(of=("self",)).select_related("department", "assignee").get(pk=work_item_id)
    )
    item.application = application
    return application, item


def acts_for(user: User, application: Application) -> bool:
    """Whether `user` may act on the application as its applicant: they made it, it was made on
    behalf of an organisation they represent (every representative follows its applications),
    or its applicant gave them an active mandate for its service that lets them submit."""
    if application.applicant_id == user.pk:
        return True
    return Application.objects.filter(
        Q(group__organisation__in=user.organisations.values("pk")) | Q(delegated_to(user, may_submit=True)),
        pk=application.pk,
    ).exists()


def refuse_unless_acts_for(user: User, application: Application) -> None:
    """Refuses a person who may not act on the application as its applicant. A delegate whose
    mandate only lets them prepare is told so; anyone else hears that it does not exist."""
    if acts_for(user, application):
        return
    if Application.objects.filter(delegated_to(user), pk=application.pk).exists():
        raise TransitionRefused(
            _(
                "Your mandate lets you follow this application and prepare drafts, not answer or withdraw for "
                "the applicant. They can do it themselves."
            )
        )
    raise TransitionRefused(_("This application does not exist."))


def refuse_if_finished(application: Application) -> None:
    if application.is_finished:
        raise TransitionRefused(
            _("Application %(number)s is already %(status)s; nothing more can be done on it.")
            % {"number": application.number, "status": application.get_status_display().lower()}
        )


def refuse_unless_assignee(item: WorkItem, actor: User) -> None:
    if item.status != WorkItem.Status.CLAIMED or item.assignee_id != actor.pk:
        raise TransitionRefused(_("Only the clerk who has claimed this step can do that. Claim it first."))
