"""A life event's page asks each question once and names the services that use the answer."""

import re
from collections import Counter

import pytest

from services import selectors

pytestmark = pytest.mark.django_db

QUESTION = re.compile(r'<li>([^<]+?)(?: \(optional\))?\s*<span class="govuk-body-s od-muted">— for ([^<]+)</span></li>')


def questions(page: str) -> list[tuple[str, str]]:
    given = 'id="given-along-the-way"'
    end = page.index(given) if given in page else page.index('id="who-handles"')
    return QUESTION.findall(page[page.index('id="what-we-ask"') : end])


@pytest.mark.parametrize("code", ["have-a-baby", "open-a-restaurant"])
def test_each_question_is_listed_once_with_the_services_that_use_it(client, catalogue, code):
    page = client.get(f"/life-events/{code}/").content.decode()
    listed = questions(page)
    labels = Counter(label for label, _services in listed)
    assert listed and all(count == 1 for count in labels.values()), labels
    # Every question of every service is there, once.
    versions = selectors.life_event_versions(selectors.life_event_by_code(code))
    produced = {key: version.service for version in versions for key in version.produces}
    elements = {
        field.element.label
        for version in versions
        for field in version.fields.all()
        if produced.get(field.element.key, version.service) == version.service
    }
    assert set(labels) == {label.replace("'", "&#x27;") for label in elements}
    shared = [services for _label, services in listed if ", " in services]
    assert shared, "some answer serves several services"


def test_the_restaurant_page_names_who_uses_the_shared_answers(client, catalogue):
    page = client.get("/life-events/open-a-restaurant/").content.decode()
    uses = dict(questions(page))
    assert uses["Business name"] == (
        "Register a business (business licence), Apply for a food business licence, Register for tax"
    )


def test_a_document_the_life_event_issues_is_not_asked_for(client, catalogue):
    page = client.get("/life-events/open-a-restaurant/").content.decode()
    needed = page[page.index('id="what-you-need"') : page.index('id="what-we-ask"')]
    asked, issued = needed.split("Issued along the way")
    assert "Business licence," not in asked and "Business licence\n" not in asked
    assert "Business licence, issued by “Register a business (business licence)” in this application" in issued
    assert "Lease agreement for the premises" in asked


def test_a_datum_the_life_event_produces_is_not_asked_but_named_with_its_maker(client, catalogue):
    page = client.get("/life-events/open-a-restaurant/").content.decode()
    assert "Unified social credit code" not in dict(questions(page))
    given = page[page.index('id="given-along-the-way"') : page.index('id="who-handles"')]
    assert "Unified social credit code, from “Register a business (business licence)” once it is approved" in given
    assert "— for Apply for a food business licence, Register for tax" in given
