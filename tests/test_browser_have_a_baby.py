"""In Chromium: Alice, whose identity is verified, applies for "have a baby" as the mother. She
answers "are you the baby's mother?" once; her details and her husband's come from the registers,
read-only and marked verified; she types only what the state cannot know (the facts
`once_only_report` lists as new), submits once, and gets four applications. The three that need
the birth medical certificate say, on her progress page and on the clerk's page, that they wait
for it. Answering "no" asks for the mother's details. Axe clean on every page."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from accounts.models import User
from services.demo import seed_catalogue
from tests.support.browser import sign_in
from tests.support.second_factor import staff_device
from workflows.apply.demo import seed_demo_vault
from workflows.models import Application, ApplicationGroup, WorkItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALICE_ID = "11010519491231002X"
OTHER_MOTHER_ID = "110105198001010032"  # passes the GB 11643 check


@pytest.fixture
def demo(transactional_db):
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()
    staff_device(User.objects.get(username="clerk.hrss"))


def new_facts() -> list[str]:
    """The questions `once_only_report` says Alice still answers for "have a baby", all new facts."""
    out = io.StringIO()
    call_command("once_only_report", "have-a-baby", stdout=out)
    report = out.getvalue()
    assert "Known facts typed: none" in report and "Known documents uploaded: none" in report
    line = next(line for line in report.splitlines() if "New facts typed:" in line)
    return [label.strip() for label in line.split("New facts typed:", 1)[1].split(";")]


def start(page) -> None:
    sign_in(page, "alice", DEMO_PASSWORD)
    page.goto("/life-events/have-a-baby/")
    page.get_by_role("button", name="Apply for all of these now").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="The parents").is_visible()


def save(page) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("networkidle")


def answer_yes_no(page, question: str, choice: str, typed: list[str]) -> None:
    page.get_by_role("group", name=question).get_by_label(choice, exact=True).check()
    page.wait_for_load_state("networkidle")
    typed.append(question)


def expect_known(page, values: dict[str, str]) -> None:
    """Each of these questions shows the state's value, read-only and marked verified."""
    for label, value in values.items():
        field = page.get_by_label(label, exact=True)
        assert field.input_value() == value, label
        assert field.get_attribute("readonly") is not None, label
        tag = page.locator(f"#{field.get_attribute('id')}-reuse")
        assert tag.inner_text() == "Verified", label
    assert page.locator("main .govuk-tag", has_text="Verified").count() == len(values)


def nothing_left_empty(page) -> None:
    """Every question on the page is answered already (known to the state): nothing to type."""
    for field in page.locator("main input.govuk-input, main textarea, main select").all():
        assert field.input_value() != "", field.get_attribute("name")
    for group in page.locator("main .govuk-radios").all():
        assert group.locator("input:checked").count() == 1


def test_alice_as_the_mother_types_only_new_facts_and_submits_once(page, demo, assert_accessible):
    typed: list[str] = []
    start(page)
    assert page.get_by_role("group", name="Are you the baby's mother?").count() == 1
    assert_accessible(page)

    # One answer: she is the mother. Her details appear in place, read-only and marked verified,
    # and the question about the father opens; "yes" again and her husband's appear too.
    answer_yes_no(page, "Are you the baby's mother?", "Yes", typed)
    page.get_by_role("group", name="Is the baby's father your spouse?").wait_for()
    expect_known(page, {"Mother's full name": "Alice Wang", "Mother's resident ID number": ALICE_ID})
    answer_yes_no(page, "Is the baby's father your spouse?", "Yes", typed)
    page.locator("#id_father__full_name[readonly]").wait_for()
    parents = {
        "Mother's full name": "Alice Wang",
        "Mother's resident ID number": ALICE_ID,
        "Father's full name": "Li Ming",
        "Father's resident ID number": "110105194803150012",
    }
    expect_known(page, parents)
    # The ages are worked out from the ID numbers, not asked.
    assert page.get_by_label("Mother's age").count() == 0 and page.get_by_label("Father's age").count() == 0
    assert_accessible(page)
    save(page)

    # Saved as shown: back on the parents, the same values come from her draft.
    assert page.get_by_role("heading", name="The baby").is_visible()
    page.get_by_role("link", name="The parents").click()
    page.wait_for_load_state("networkidle")
    expect_known(page, parents)
    assert_accessible(page)
    save(page)

    # The baby: what nobody but the parents knows yet.
    assert page.get_by_role("heading", name="The baby").is_visible()
    page.get_by_label("Baby's name").fill("Xiaoming Zhang")
    typed.append("Baby's name")
    page.get_by_role("group", name="Baby's sex").get_by_label("Male", exact=True).check()
    typed.append("Baby's sex")
    born = timezone.localdate() - datetime.timedelta(days=3)
    page.get_by_label("Baby's date of birth").fill(born.isoformat())
    typed.append("Baby's date of birth")
    answer_yes_no(page, "Was the baby born in a hospital or registered birth centre?", "Yes", typed)
    page.get_by_label("Hospital where the baby was born").fill("Peking Union Medical College Hospital")
    typed.append("Hospital where the baby was born")
    assert_accessible(page)
    save(page)

    # About you, your household, work and insurance: all known, nothing to type.
    for heading in ("About you", "Your household", "Work and insurance"):
        assert page.get_by_role("heading", name=heading).is_visible()
        nothing_left_empty(page)
        assert_accessible(page)
        save(page)

    # Documents: those in her vault are reused; the birth medical certificate comes from the bundle.
    assert page.get_by_role("heading", name="Documents").is_visible()
    assert page.get_by_text("Use alice-id-card.pdf from my vault").is_visible()
    assert_accessible(page)
    save(page)

    # What she typed is exactly what the report counts as new facts: no known fact was typed.
    assert typed == new_facts()

    assert page.get_by_role("heading", name="Check your answers").is_visible()
    assert page.get_by_text("What is still missing").count() == 0
    assert_accessible(page)
    page.get_by_role("button", name="Accept and submit").click()
    page.wait_for_load_state("networkidle")

    # The receipt: one submission, four applications.
    assert page.get_by_role("heading", name="Application submitted").is_visible()
    numbers = re.findall(
        r"\d{4}-(?:HLT|PSB|HRS)-\d{6}", page.get_by_role("table", name="Your 4 applications").inner_text()
    )
    assert len(set(numbers)) == 4
    assert_accessible(page)
    group = ApplicationGroup.objects.get(applicant__username="alice", submitted_at__isnull=False)
    applications = {a.service.code: a for a in Application.objects.filter(group=group).select_related("service")}
    assert sorted(a.number for a in applications.values()) == sorted(set(numbers))
    certificate, allowance = applications["birth-medical-certificate"], applications["maternity-allowance"]
    assert allowance.data["person.full_name"] == "Alice Wang"
    assert certificate.data["mother.id_number"] == ALICE_ID

    # Her progress page: the step that needs the certificate says it waits for it, by number.
    waits = (
        f"Waiting for your application “Get a birth medical certificate” (number {certificate.number}) to be approved."
    )
    page.goto(f"/applications/{allowance.number}/")
    birth = page.locator("tr[data-step='birth']")
    assert "Waiting for another application" in birth.inner_text()
    assert waits in birth.inner_text()
    assert "Not started yet" not in birth.inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")

    # The Social Security clerk checking contributions sees the same wait on the work item page.
    contributions = WorkItem.objects.get(application=allowance, step_key="contributions")
    sign_in(page, "clerk.hrss", DEMO_PASSWORD)
    page.goto(f"/workbench/items/{contributions.pk}/")
    wait = page.locator("[data-bundle-wait='birth']").inner_text()
    assert "Confirm the birth" in wait
    assert f"application “Get a birth medical certificate” (number {certificate.number}) to be approved" in wait
    assert_accessible(page)


def test_answering_no_asks_for_the_mothers_details(page, demo, assert_accessible):
    start(page)
    mother = page.get_by_role("group", name="Are you the baby's mother?")
    # "Yes" first fills her details in place; changing to "no" gives the fields back to type.
    mother.get_by_label("Yes", exact=True).check()
    page.locator("#id_mother__full_name[readonly]").wait_for()
    mother = page.get_by_role("group", name="Are you the baby's mother?")
    mother.get_by_label("No", exact=True).check()
    page.locator("#id_mother__full_name:not([readonly])").wait_for()
    for label in ("Mother's full name", "Mother's resident ID number"):
        field = page.get_by_label(label, exact=True)
        assert field.input_value() == "" and field.get_attribute("readonly") is None, label
    assert page.get_by_role("group", name="Is the baby's father your spouse?").count() == 0
    assert page.locator("main .govuk-tag", has_text="Verified").count() == 0
    assert_accessible(page)
    save(page)

    # Saving without them: the mother's details are asked, at their fields.
    assert page.get_by_role("heading", name="The parents").is_visible()
    assert page.get_by_text("There is a problem").is_visible()
    assert page.locator("#id_mother__full_name-error").is_visible()
    assert page.locator("#id_mother__id_number-error").is_visible()
    assert page.get_by_role("group", name="Are you the baby's mother?").get_by_label("No", exact=True).is_checked()
    assert_accessible(page)

    # Typed, they are saved as typed, and her age is worked out from the ID number, not asked.
    page.get_by_label("Mother's full name", exact=True).fill("Mei Chen")
    page.get_by_label("Mother's resident ID number", exact=True).fill(OTHER_MOTHER_ID)
    page.get_by_label("Father's full name", exact=True).fill("Li Ming")
    page.get_by_label("Father's resident ID number", exact=True).fill("110105194803150012")
    save(page)
    assert page.get_by_role("heading", name="The baby").is_visible()
    group = ApplicationGroup.objects.get(applicant__username="alice")
    assert group.data["parents.applicant_is_mother"] is False
    assert group.data["mother.full_name"] == "Mei Chen" and group.data["mother.id_number"] == OTHER_MOTHER_ID
    assert isinstance(group.data["mother.age"], int)
