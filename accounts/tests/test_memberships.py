import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.actions import membership_grant
from accounts.models import Membership, Role, User
from accounts.selectors import QUEUE_ROLES, held_department_ids

pytestmark = pytest.mark.django_db


def test_clerk_supervisor_and_citizen_see_their_own_menus(clerk_a, supervisor, alice):
    assert "clerk" in clerk_a.nav_roles()
    assert "citizen" not in clerk_a.nav_roles()
    assert "supervisor" in supervisor.nav_roles()
    assert alice.nav_roles() == frozenset({"citizen"})


def test_granting_a_role_makes_the_person_staff_and_is_idempotent(bob, department_a):
    membership_grant(user=bob, department=department_a, role=Role.SUPERVISOR)
    membership_grant(user=bob, department=department_a, role=Role.SUPERVISOR)
    bob.refresh_from_db()
    assert bob.is_staff
    assert Membership.objects.filter(user=bob).count() == 1


def test_one_role_per_person_department_pair_is_unique(clerk_a, department_a):
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=clerk_a, department=department_a, role=Role.CLERK)


def test_one_person_can_hold_roles_in_several_departments(bob, department_a, department_b):
    membership_grant(user=bob, department=department_a, role=Role.CLERK)
    membership_grant(user=bob, department=department_b, role=Role.COUNTER_CLERK)
    assert set(bob.memberships.values_list("department__code", flat=True)) == {"market", "fire"}


def test_held_departments_are_the_active_roles_and_read_once_per_loaded_user(
    bob, department_a, department_b, django_assert_num_queries
):
    membership_grant(user=bob, department=department_a, role=Role.CLERK)
    membership_grant(user=bob, department=department_b, role=Role.CLERK)
    Membership.all_objects.filter(user=bob, department=department_b).update(suspended_at=timezone.now())
    membership_grant(user=bob, department=department_b, role=Role.FINANCE)  # not a queue role
    person = User.objects.get(pk=bob.pk)  # as a request loads its user
    with django_assert_num_queries(1):
        assert held_department_ids(user=person, roles=QUEUE_ROLES) == (department_a.pk,)
        assert held_department_ids(user=person, roles=QUEUE_ROLES) == (department_a.pk,)
    # The next request's user reads again: a role granted since counts.
    Membership.all_objects.filter(user=bob, department=department_b, role=Role.CLERK).update(suspended_at=None)
    assert held_department_ids(user=User.objects.get(pk=bob.pk), roles=QUEUE_ROLES) == tuple(
        sorted((department_a.pk, department_b.pk))
    )
    assert held_department_ids(user=User.objects.get(pk=bob.pk), roles=(Role.SUPERVISOR,)) == ()
