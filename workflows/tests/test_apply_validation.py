"""Server-side validation per data element: the message next to the field, a summary at the
top, and nothing the applicant typed is lost."""

import pytest
from django.urls import reverse

from workflows.apply.actions import draft_save, draft_start
from workflows.tests.test_apply_support import catalogue  # noqa: F401

pytestmark = pytest.mark.django_db

ABOUT_YOU = 1
BUSINESS = 2
STAFF = 3


def _post(client, group, index: int, answers: dict[str, str], base_revision: int | None = None):
    page = client.get(reverse("workflows:apply-section", args=[group.pk, index])).content.decode()
    assert "base_revision" in page
    data = {"base_revision": group.revision if base_revision is None else base_revision}
    for key, value in answers.items():
        name = key.replace(".", "__")
        data[name] = value
        data[f"base__{name}"] = ""
    return client.post(reverse("workflows:apply-section", args=[group.pk, index]), data)


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("person.id_number", "110105194912310021", "its last character does not match"),
        ("person.id_number", "12345", "18-character resident ID number"),
        ("person.phone", "12345", "Enter a mobile number"),
        ("business.floor_area_m2", "0", "at least 1"),
        ("business.floor_area_m2", "lots", "Enter a number"),
        ("business.opening_date", "2027-02-30", "Enter a real date"),
        ("business.kind", "casino", "Select one of the options"),
        ("business.name", "A", "at least 2 characters"),
        ("business.contact_email", "not-an-address", "e-mail address in the right format"),
        ("business.employees", "2.5", "whole number"),
    ],
)
def test_a_bad_value_is_refused_next_to_its_field_and_kept(client, alice, catalogue, key, bad, message):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    if key == "business.employees":
        draft_save(applicant=alice, group_id=group.pk, values={"business.has_employees": "yes"})
        group.refresh_from_db()
    index = {"person": ABOUT_YOU, "business": BUSINESS}[key.split(".")[0]]
    if key in ("business.employees", "business.contact_email"):
        index = STAFF
    client.force_login(alice)

    response = _post(client, group, index, {key: bad})

    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page  # the error summary at the top
    assert message in page
    name = key.replace(".", "__")
    assert f'href="#id_{name}"' in page  # the summary links to the field
    assert f'id="id_{name}-error"' in page  # the message sits next to it
    assert f'value="{bad}"' in page or f'value="{bad}" checked' in page or bad == "casino"
    group.refresh_from_db()
    assert key not in group.data


def test_valid_answers_are_saved_even_when_another_field_has_an_error(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(alice)
    response = _post(client, group, BUSINESS, {"business.name": "Alice's Noodles", "business.floor_area_m2": "-5"})
    assert response.status_code == 400
    assert 'value="Alice&#x27;s Noodles"' in response.content.decode()
    group.refresh_from_db()
    assert group.data["business.name"] == "Alice's Noodles"


def test_good_answers_move_on_to_the_next_step(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(alice)
    response = _post(
        client,
        group,
        ABOUT_YOU,
        {"person.full_name": "Alice Wang", "person.id_number": "11010519491231002x", "person.phone": "138 0013 8000"},
    )
    assert response.status_code == 302
    assert response.url == reverse("workflows:apply-section", args=[group.pk, BUSINESS])
    group.refresh_from_db()
    assert group.data["person.id_number"] == "11010519491231002X"
    assert group.data["person.phone"] == "13800138000"


def test_a_conditional_question_appears_only_when_its_condition_holds(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(alice)
    url = reverse("workflows:apply-section", args=[group.pk, STAFF])
    assert 'name="business__employees"' not in client.get(url).content.decode()

    response = _post(client, group, STAFF, {"business.has_employees": "yes"})

    # The page is shown again with the question the answer opened up, not skipped past.
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="business__employees"' in page
    assert "new questions are below" in page

    group.refresh_from_db()
    response = _post(client, group, STAFF, {"business.employees": "4"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.data["business.employees"] == 4


def test_a_preview_shows_the_questions_an_answer_opens_up_without_saving(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(alice)
    url = reverse("workflows:apply-section", args=[group.pk, STAFF])
    revision = group.revision
    posted = {"base_revision": revision, "business__has_employees": "yes", "base__business__has_employees": ""}

    response = client.post(url, {**posted, "preview": "1"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="od-questions"' in page and 'name="business__employees"' in page
    group.refresh_from_db()
    assert group.revision == revision and "business.has_employees" not in group.data  # nothing saved
    # An answer that would be refused opens nothing, and is not refused either: it is kept as typed.
    posted["business__has_employees"] = "perhaps"
    page = client.post(url, {**posted, "preview": "1"}).content.decode()
    assert 'name="business__employees"' not in page and "There is a problem" not in page


def test_a_preview_of_someone_elses_draft_is_not_found(client, alice, bob, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(bob)
    url = reverse("workflows:apply-section", args=[group.pk, STAFF])
    assert client.post(url, {"preview": "1", "business__has_employees": "yes"}).status_code == 404
