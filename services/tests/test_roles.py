"""Roles of a form's person elements and values worked out instead of asked (services/roles.py)."""

import time_machine

from services.roles import Role, derivation_source, derive, parse_roles, produces_problems, role_problems

MOTHER_ID = "11010519491231002X"  # born 1949-12-31, female (the demo's Alice)
FATHER_ID = "110105194803150012"  # born 1948-03-15, male


def test_a_role_takes_its_values_from_the_applicant_or_the_spouse():
    roles = parse_roles(
        [
            {"about": "mother", "is": "applicant", "question": "parents.applicant_is_mother"},
            {"about": "father", "is": "spouse", "question": "parents.father_is_spouse"},
            {"about": "child", "is": "neighbour", "question": "x.y"},  # not a source: left out
            "nonsense",
        ]
    )
    assert roles == [
        Role(about="mother", source="person", question="parents.applicant_is_mother"),
        Role(about="father", source="spouse", question="parents.father_is_spouse"),
    ]
    assert roles[0].source_key("mother.full_name") == "person.full_name"
    assert roles[1].source_key("father.id_number") == "spouse.id_number"
    assert roles[0].holds({"parents.applicant_is_mother": True})
    assert not roles[0].holds({"parents.applicant_is_mother": False})
    assert not roles[0].holds({})


def test_publish_refuses_a_role_without_a_yes_no_question_on_the_form():
    kinds = {"mother.full_name": "text", "parents.applicant_is_mother": "boolean", "person.phone": "phone"}
    assert role_problems([{"about": "mother", "question": "parents.applicant_is_mother"}], kinds) == []
    problems = role_problems(
        [
            {"about": "mother", "question": "person.phone"},
            {"about": "uncle", "is": "cousin", "question": "parents.applicant_is_mother"},
        ],
        kinds,
    )
    assert problems == [
        "Role 1: “question” must name a yes/no field of the form.",
        "Role 2: “about” must name the prefix of elements on the form, such as mother.",
        "Role 2: “is” must be applicant or spouse.",
    ]
    assert role_problems("mother", kinds) == ["The roles must be a list."]
    assert produces_problems(["business.credit_code", "no.such"], {"business.credit_code"}) == [
        "“Produces” names no.such, which is not a data element."
    ]


@time_machine.travel("2026-06-01 10:00 +0800", tick=False)
def test_date_of_birth_sex_and_age_are_worked_out_from_a_resident_id():
    assert derivation_source("father.age") == "father.date_of_birth"
    assert derivation_source("father.date_of_birth") == "father.id_number"
    assert derivation_source("baby.name") is None
    values = {"mother.id_number": MOTHER_ID, "father.id_number": FATHER_ID}
    assert derive("mother.date_of_birth", values) == "1949-12-31"
    assert derive("mother.sex", values) == "female"
    assert derive("father.sex", values) == "male"
    # Chained: the age from the date of birth from the ID number; birthdays not yet reached count.
    assert derive("mother.age", values) == 76
    assert derive("father.age", values) == 78
    assert derive("father.age", {"father.date_of_birth": "2000-06-02"}) == 25
    assert derive("father.age", {"father.date_of_birth": "2000-06-01"}) == 26


def test_nothing_is_worked_out_from_an_id_number_that_fails_its_check():
    assert derive("mother.date_of_birth", {"mother.id_number": "110105194912310021"}) is None
    assert derive("mother.age", {"mother.id_number": "110105194912310021"}) is None
    assert derive("mother.age", {}) is None
