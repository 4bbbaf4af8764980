"""Staff management scoped to a department: a department administrator gives and takes away the
roles of their own department's staff, and suspends and resumes their access (never another
department's); an administrator of the portal may do so everywhere. Every change is recorded
(`MembershipChange`), here and in the admin site alike.

Suspension is a mark on each of the person's `Membership` rows in that department: the default
manager leaves those rows out, so every check of access (queue, counter, supervision, documents,
API, this page's own "who manages") stops granting them without knowing about suspension.
"""

import logging

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Invitation, Membership, MembershipChange, Role, User
from lib.refusals import Refused

logger = logging.getLogger("accounts.security")


class StaffChangeRefused(Refused):
    status_code = 400


class NotManaged(StaffChangeRefused):
    """The department, person or invitation is not one the actor manages (views answer 404)."""

    status_code = 404


def managed_departments(*, actor: User) -> QuerySet[Department]:
    """The departments whose staff `actor` manages (every one for a portal administrator)."""
    if actor.is_superuser:
        return Department.objects.all()
    # A sub-select through the default manager: a suspended administrator manages nothing.
    administered = Membership.objects.filter(user_id=actor.pk, role=Role.DEPARTMENT_ADMIN).values("department_id")
    return Department.objects.filter(pk__in=administered)


def managed_department(*, actor: User, code: str) -> Department:
    department = managed_departments(actor=actor).filter(code=code).first()
    if department is None:
        logger.info("staff change refused actor=%s department=%s", actor.pk, code)
        raise NotManaged(_("You do not manage the staff of this department."))
    return department


def membership_change_record(
    *,
    actor: User | None,
    membership: Membership,
    action: str,
    invitation: Invitation | None = None,
) -> MembershipChange:
    return MembershipChange.objects.create(
        actor=actor,
        user=membership.user,
        department=membership.department,
        role=membership.role,
        action=action,
        invitation=invitation,
    )


def person_find(identifier: str) -> User | None:
    """An existing account by log-in name or e-mail address (case-insensitive)."""
    identifier = identifier.strip()
    if not identifier:
        return None
    return User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True).first()


def is_suspended(*, user: User, department: Department) -> bool:
    return Membership.all_objects.filter(user=user, department=department, suspended_at__isnull=False).exists()


def membership_add(*, person: User, department: Department, role: str) -> tuple[Membership, bool]:
    """The role for `person` (created: True when it is new). A role added while the person is
    suspended in the department is suspended too: resuming gives back everything at once."""
    membership, created = Membership.all_objects.get_or_create(user=person, department=department, role=role)
    if created and is_suspended(user=person, department=department):
        membership.suspended_at = timezone.now()
        membership.save(update_fields=["suspended_at"])
    if not person.is_staff:
        User.objects.filter(pk=person.pk).update(is_staff=True)
        person.is_staff = True
    return membership, created


@transaction.atomic
def staff_role_grant(*, actor: User, department: Department, identifier: str, role: str) -> Membership:
    if not managed_departments(actor=actor).filter(pk=department.pk).exists():
        raise NotManaged(_("You do not manage the staff of this department."))
    if role not in Role.values:
        raise StaffChangeRefused(_("Choose a role."))
    person = person_find(identifier)
    if person is None:
        raise StaffChangeRefused(
            _("No account uses “%(identifier)s”. Invite the person by e-mail instead.")
            % {"identifier": identifier.strip()}
        )
    if is_suspended(user=person, department=department):
        raise StaffChangeRefused(
            _("%(name)s's access here is suspended. Resume it first, then give the role.") % {"name": person.name}
        )
    membership, created = membership_add(person=person, department=department, role=role)
    if not created:
        raise StaffChangeRefused(_("%(name)s already has this role here.") % {"name": person.name})
    membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.GRANTED)
    return membership


@transaction.atomic
def staff_role_revoke(*, actor: User, membership_id: int) -> Membership:
    membership = (
        Membership.all_objects.select_for_update()
        .select_related("user", "department")
        .filter(pk=membership_id, department__in=managed_departments(actor=actor))
        .first()
    )
    if membership is None:
        raise NotManaged(_("This role does not exist in a department you manage."))
    if membership.user_id == actor.pk and membership.role == Role.DEPARTMENT_ADMIN:
        raise StaffChangeRefused(_("You cannot take away your own administrator role; ask another administrator."))
    membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.REVOKED)
    membership.delete()
    return membership


def staff_member(*, actor: User, department: Department, user_id: int) -> User:
    """A person with a role (suspended or not) in a department `actor` manages; NotManaged otherwise."""
    if not managed_departments(actor=actor).filter(pk=department.pk).exists():
        raise NotManaged(_("You do not manage the staff of this department."))
    person = User.objects.filter(
        pk__in=Membership.all_objects.filter(department=department, user_id=user_id).values("user_id")
    ).first()
    if person is None:
        raise NotManaged(_("This person has no role in a department you manage."))
    return person


@transaction.atomic
def staff_suspend(*, actor: User, department: Department, user_id: int) -> User:
    """Every role of the person in `department` stops granting anything; their roles in other
    departments are untouched."""
    person = staff_member(actor=actor, department=department, user_id=user_id)
    if person.pk == actor.pk:
        raise StaffChangeRefused(_("You cannot suspend your own access; ask another administrator."))
    rows = list(
        Membership.all_objects.select_for_update()
        .select_related("user", "department")
        .filter(user=person, department=department, suspended_at__isnull=True)
    )
    if not rows:
        raise StaffChangeRefused(_("%(name)s's access here is already suspended.") % {"name": person.name})
    now = timezone.now()
    for membership in rows:
        membership.suspended_at = now
        membership.save(update_fields=["suspended_at"])
        membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.SUSPENDED)
    logger.info("staff suspended actor=%s user=%s department=%s", actor.pk, person.pk, department.code)
    return person


@transaction.atomic
def staff_resume(*, actor: User, department: Department, user_id: int) -> User:
    person = staff_member(actor=actor, department=department, user_id=user_id)
    rows = list(
        Membership.all_objects.select_for_update()
        .select_related("user", "department")
        .filter(user=person, department=department, suspended_at__isnull=False)
    )
    if not rows:
        raise StaffChangeRefused(_("%(name)s's access here is not suspended.") % {"name": person.name})
    for membership in rows:
        membership.suspended_at = None
        membership.save(update_fields=["suspended_at"])
        membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.RESUMED)
    logger.info("staff resumed actor=%s user=%s department=%s", actor.pk, person.pk, department.code)
    return person
