"""Complete access records: an administrator opening a person or an application in the admin
site is recorded for that person, and the access log groups every kind of look readably."""

import pytest
from django.urls import reverse

from accounts.models import VerifiedAttribute
from workflows.models import DataAccessRecord
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with())


def looks(alice):
    return DataAccessRecord.objects.filter(applicant=alice, what=DataAccessRecord.What.ADMIN_VIEW)


def test_opening_a_person_in_the_admin_is_recorded_for_them(client, administrator, alice):
    client.force_login(administrator)
    assert client.get(reverse("admin:accounts_user_change", args=[alice.pk])).status_code == 200
    record = looks(alice).get()
    assert record.accessor == administrator and record.application is None
    # The list of people is not a look at one person; one's own record is not recorded either.
    client.get(reverse("admin:accounts_user_changelist"))
    client.get(reverse("admin:accounts_user_change", args=[administrator.pk]))
    assert DataAccessRecord.objects.count() == 1


def test_opening_a_verified_attribute_or_an_application_is_recorded(client, administrator, alice, application):
    attribute = VerifiedAttribute.objects.create(
        user=alice, element_key="person.full_name", value="Alice Wang", source="identity"
    )
    client.force_login(administrator)
    assert client.get(reverse("admin:accounts_verifiedattribute_change", args=[attribute.pk])).status_code == 200
    assert client.get(reverse("admin:workflows_application_change", args=[application.pk])).status_code == 200
    assert (
        client.get(reverse("admin:workflows_applicationgroup_change", args=[application.group_id])).status_code == 200
    )
    assert looks(alice).count() == 3
    assert looks(alice).filter(application=application).count() == 1


def test_a_failed_or_refused_admin_page_records_nothing(client, administrator, clerk_a, alice):
    client.force_login(administrator)
    client.get(reverse("admin:accounts_user_change", args=[999999]))
    client.force_login(clerk_a)  # staff without the admin permission
    client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    assert not looks(alice).exists()


def test_applications_cannot_be_changed_in_the_admin(client, administrator, application):
    client.force_login(administrator)
    response = client.post(reverse("admin:workflows_application_change", args=[application.pk]), {"status": "approved"})
    application.refresh_from_db()
    assert response.status_code == 403 and application.status != "approved"


def test_the_access_log_groups_the_looks_by_kind_and_person(client, alice, clerk_a, administrator, application):
    item = step(application)
    client.force_login(clerk_a)
    for _ in range(3):
        client.get(reverse("workflows:workbench"))
    client.get(reverse("workflows:workbench-item", args=[item.pk]))
    client.force_login(administrator)
    client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-access-log")).content.decode()
    assert "At a glance" in page
    assert "Staff who saw your name in their queue or a search" in page
    assert "3 times" in page
    assert "Staff handling your applications" in page
    assert "Administrators of the portal" in page
    assert "Opened your record in the administration site" in page
