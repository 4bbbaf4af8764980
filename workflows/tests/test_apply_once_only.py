"""The headline "one time" figures on the demo catalogue, and Alice's demo vault."""

import io

import pytest
from django.core.management import call_command

from accounts.demo import seed_accounts, seed_departments
from accounts.models import User
from documents.models import Document
from services.demo import seed_catalogue
from services.models import LifeEvent
from workflows.apply.actions import draft_start
from workflows.apply.demo import seed_demo_vault
from workflows.apply.selectors import group_form, group_missing

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db) -> User:
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()
    return User.objects.get(username="alice")


def _report(*codes: str) -> str:
    out = io.StringIO()
    call_command("once_only_report", *codes, stdout=out)
    return out.getvalue()


def _row(report: str, label: str) -> tuple[int, int]:
    line = next(line for line in report.splitlines() if label in line)
    fields, documents = line.split()[-2:]
    return int(fields), int(documents)


def test_the_restaurant_figures(demo):
    report = _report("open-a-restaurant")
    assert "Open a restaurant (open-a-restaurant): 3 services" in report
    assert _row(report, "separate services' forms") == (25, 8)
    # The licence's credit code, which the food permit and the tax registration need, is produced
    # by the bundle: the merged form does not ask it.
    assert _row(report, "one merged form asks") == (11, 5)
    assert _row(report, "Alice Wang still types / uploads") == (8, 1)
    assert _row(report, "new facts (the state cannot know them)") == (8, 1)
    assert _row(report, "known facts (the state holds them)") == (0, 0)
    assert "New documents uploaded: Fire safety rules and evacuation plan" in report
    assert "Known facts typed: none" in report
    assert "Known documents uploaded: none" in report
    assert "1 from another service of the bundle" in report


def test_the_baby_figures(demo):
    report = _report("have-a-baby")
    assert "Have a baby (have-a-baby): 4 services" in report
    assert _row(report, "separate services' forms") == (39, 7)
    assert _row(report, "one merged form asks") == (19, 3)
    # Alice is the mother and her husband the father: only what nobody but the parents knows is typed.
    assert _row(report, "Alice Wang still types / uploads") == (7, 0)
    assert _row(report, "new facts (the state cannot know them)") == (7, 0)
    assert _row(report, "known facts (the state holds them)") == (0, 0)
    assert (
        "New facts typed: Are you the baby's mother?; Is the baby's father your spouse?; Baby's name; Baby's sex; "
        "Baby's date of birth; Was the baby born in a hospital or registered birth centre?; "
        "Hospital where the baby was born"
    ) in report
    assert "6 from the applicant's role (verified identity)" in report


def test_a_known_fact_left_to_type_is_counted_as_known(demo):
    """Without her social insurance record, Alice types what the social insurance office holds:
    the report says so instead of hiding it among the new facts."""
    from accounts.models import VerifiedAttribute

    VerifiedAttribute.objects.filter(user=demo, element_key="person.social_insurance_months").delete()
    report = _report("have-a-baby")
    assert _row(report, "known facts (the state holds them)") == (1, 0)
    assert "Known facts typed: Months of social insurance paid" in report


def test_a_state_issued_document_not_in_the_vault_is_a_known_document(demo):
    Document.objects.filter(owner=demo, document_type__code="health-certificate").delete()
    report = _report("open-a-restaurant")
    assert _row(report, "known facts (the state holds them)") == (0, 1)
    assert "Known documents uploaded: Health certificate for food handlers" in report


def test_the_figures_match_what_alices_draft_really_asks(demo):
    group = draft_start(applicant=demo, life_event=LifeEvent.objects.get(code="open-a-restaurant"))
    form = group_form(group)
    assert len(form.asked_fields) == 11
    unanswered = [spec for spec in form.asked_fields if spec.key not in group.data]
    assert len(unanswered) == 8
    # Every question Alice still answers is listed as missing (conditional ones aside).
    missing_fields = {m.label for m in group_missing(group) if m.kind == "field"}
    assert missing_fields == {s.element.label for s in unanswered if s.required(group.data)}


def test_an_unknown_life_event_is_a_clear_error(demo):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No life event"):
        _report("open-a-bakery")


def test_seeding_the_vault_twice_stores_each_document_once(demo):
    before = Document.objects.filter(owner=demo).count()
    seed_demo_vault()
    assert Document.objects.filter(owner=demo).count() == before == 6
    assert set(Document.objects.filter(owner=demo).values_list("scan_status", flat=True)) == {"clean"}


def test_the_mother_answers_one_question_and_her_details_come_from_her_verified_identity(demo):
    from workflows.apply.actions import draft_save
    from workflows.apply.selectors import group_for_user

    group = draft_start(applicant=demo, life_event=LifeEvent.objects.get(code="have-a-baby"))
    form = group_form(group)
    # Asked once for the four services, and the mother's details are asked until it is answered.
    assert [spec.key for spec in form.fields].count("parents.applicant_is_mother") == 1
    assert form.field("mother.full_name").shown(group.data)
    assert not form.field("mother.full_name").is_bound(group.data)

    result = draft_save(
        applicant=demo,
        group_id=group.pk,
        values={"parents.applicant_is_mother": "yes", "parents.father_is_spouse": "yes"},
    )
    assert result.ok, result.errors
    group = group_for_user(user=demo, group_id=group.pk)
    assert group.data["mother.full_name"] == "Alice Wang"
    assert group.data["mother.id_number"] == "11010519491231002X"
    assert group.data["father.full_name"] == "Li Ming"
    assert group.data["father.id_number"] == "110105194803150012"
    # Derived, not asked: the ages come from the ID numbers.
    assert isinstance(group.data["mother.age"], int) and isinstance(group.data["father.age"], int)
    assert not form.field("mother.age").shown(group.data)
    # Shown read-only and marked verified.
    assert form.field("mother.full_name").is_bound(group.data)
    from workflows.apply.selectors import group_known_values

    assert group_known_values(group, form)["mother.full_name"].is_verified
    # Typing another mother while saying "I am the mother" is refused at that field.
    refused = draft_save(applicant=demo, group_id=group.pk, values={"mother.full_name": "Someone Else"})
    assert "mother.full_name" in refused.errors
    group = group_for_user(user=demo, group_id=group.pk)
    assert group.data["mother.full_name"] == "Alice Wang"
    # What is still missing is only the baby: new facts.
    missing = {m.label for m in group_missing(group) if m.kind == "field"}
    assert missing == {
        "Baby's name",
        "Baby's sex",
        "Baby's date of birth",
        "Was the baby born in a hospital or registered birth centre?",
    }
