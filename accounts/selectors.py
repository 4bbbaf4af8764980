"""Who holds which role where: the one home of the portal's role and membership rules.

Clerks reach work through membership-filtered SQL (department × role, DESIGN §6); every app
asks these functions rather than spelling the role tuples again.
"""

from django.db.models import QuerySet

from accounts.models import Department, Membership, Role, User, VerifiedAttribute

# Who works a department's queue, who supervises it, who may file at the counter.
QUEUE_ROLES = (Role.CLERK, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN)
SUPERVISOR_ROLES = (Role.SUPERVISOR, Role.DEPARTMENT_ADMIN)
COUNTER_ROLES = (Role.COUNTER_CLERK, Role.CLERK, Role.SUPERVISOR)
# Who sees a department's payments, refunds and reconciliation (payments/).
FINANCE_ROLES = (Role.FINANCE,)
STAFF_ROLES = tuple(Role.values)


def department_ids(*, user: User, roles: tuple[str, ...] = QUEUE_ROLES) -> QuerySet:
    """The ids of the departments where `user` holds one of `roles` (a lazy sub-select)."""
    return Membership.objects.filter(user_id=user.pk, role__in=roles).values("department_id")


def held_department_ids(*, user: User, roles: tuple[str, ...] = QUEUE_ROLES) -> tuple[int, ...]:
    """The ids of the departments where `user` holds one of `roles`, from the memberships read
    once for this user object (`User.active_memberships`). A staff page's checks and reads of
    the clerk's scope then cost one query, and its one-row reads carry a short list of ids
    instead of a sub-select: one relation fewer for PostgreSQL to plan, which is most of what
    those reads cost. Writes that must see a role revoked a moment ago (the engine's claim) keep
    `department_ids`, read in their own statement."""
    if not user.is_authenticated:
        return ()
    return tuple(sorted({department for department, role in user.active_memberships() if role in roles}))


def members_of(*, department_id: int | None = None, roles: tuple[str, ...] = STAFF_ROLES) -> QuerySet:
    """The ids of the people holding one of `roles` (in `department_id`, when given): a lazy
    sub-select through `Membership.objects`, so suspended roles count for nothing. Use it instead
    of a `memberships__` join, which would not leave suspended roles out."""
    memberships = Membership.objects.filter(role__in=roles)
    if department_id is not None:
        memberships = memberships.filter(department_id=department_id)
    return memberships.values("user_id")


def has_role(user: User, roles: tuple[str, ...] = STAFF_ROLES, department_id: int | None = None) -> bool:
    """Whether `user` holds one of `roles` (in `department_id`, when given)."""
    if not user.is_authenticated:
        return False
    memberships = Membership.objects.filter(user_id=user.pk, role__in=roles)
    if department_id is not None:
        memberships = memberships.filter(department_id=department_id)
    return memberships.exists()


def supervised_department_ids(user: User) -> list[int] | None:
    """The departments `user` supervises (None: all, for administrators)."""
    if user.is_superuser:
        return None
    return list(
        Department.objects.filter(pk__in=department_ids(user=user, roles=SUPERVISOR_ROLES)).values_list("pk", flat=True)
    )


def department_supervisors(*, department_id: int) -> QuerySet[User]:
    """The active people who supervise a department (told of deadlines and escalations)."""
    return User.objects.filter(
        pk__in=members_of(department_id=department_id, roles=SUPERVISOR_ROLES), is_active=True
    ).order_by("pk")


def verified_value(*, user: User, element_key: str) -> object | None:
    """One verified value of a person (None when the state has not verified it)."""
    return VerifiedAttribute.objects.filter(user=user, element_key=element_key).values_list("value", flat=True).first()


def identity_checked_in_person(*, user: User) -> bool:
    """True when a counter clerk checked this person's identity card (their resident ID's source)."""
    return VerifiedAttribute.objects.filter(
        user=user, element_key="person.id_number", source=VerifiedAttribute.Source.COUNTER
    ).exists()
