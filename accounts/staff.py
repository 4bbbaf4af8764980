"""Staff management scoped to a department: a department administrator gives and takes away the
roles of their own department's staff (never another department's); an administrator of the
portal may do so everywhere. Every change is recorded (`MembershipChange`), here and in the
admin site alike."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Department, Membership, MembershipChange, Role, User
from lib.refusals import Refused


class StaffChangeRefused(Refused):
    status_code = 400


def managed_departments(*, actor: User) -> QuerySet[Department]:
    """The departments whose staff `actor` manages (every one for a portal administrator)."""
    if actor.is_superuser:
        return Department.objects.all()
    return Department.objects.filter(memberships__user=actor, memberships__role=Role.DEPARTMENT_ADMIN).distinct()


def membership_change_record(*, actor: User | None, membership: Membership, action: str) -> MembershipChange:
    return MembershipChange.objects.create(
        actor=actor, user=membership.user, department=membership.department, role=membership.role, action=action
    )


def person_find(identifier: str) -> User | None:
    """An existing account by log-in name or e-mail address (case-insensitive)."""
    identifier = identifier.strip()
    if not identifier:
        return None
    return User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True).first()


@transaction.atomic
def staff_role_grant(*, actor: User, department: Department, identifier: str, role: str) -> Membership:
    if not managed_departments(actor=actor).filter(pk=department.pk).exists():
        raise StaffChangeRefused(_("You do not manage the staff of this department."))
    if role not in Role.values:
        raise StaffChangeRefused(_("Choose a role."))
    person = person_find(identifier)
    if person is None:
        raise StaffChangeRefused(
            _("No account uses “%(identifier)s”. Ask the person to create one, then add them.")
            % {"identifier": identifier.strip()}
        )
    membership, created = Membership.objects.get_or_create(user=person, department=department, role=role)
    if not created:
        raise StaffChangeRefused(_("%(name)s already has this role here.") % {"name": person.name})
    if not person.is_staff:
        User.objects.filter(pk=person.pk).update(is_staff=True)
    membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.GRANTED)
    return membership


@transaction.atomic
def staff_role_revoke(*, actor: User, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "department")
        .filter(pk=membership_id, department__in=managed_departments(actor=actor))
        .first()
    )
    if membership is None:
        raise StaffChangeRefused(_("This role does not exist in a department you manage."))
    if membership.user_id == actor.pk and membership.role == Role.DEPARTMENT_ADMIN:
        raise StaffChangeRefused(_("You cannot take away your own administrator role; ask another administrator."))
    membership_change_record(actor=actor, membership=membership, action=MembershipChange.Action.REVOKED)
    membership.delete()
    return membership
