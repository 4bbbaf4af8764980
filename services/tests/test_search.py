"""Search in Chinese and English over the demo catalogue: words, plurals, synonyms kept in the
admin, ranking, "did you mean", and no error whatever is typed."""

import re
import subprocess
import sys
import time
from pathlib import Path

import jieba
import pytest
from django.conf import settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services import search, segmenter, selectors
from services.demo.loader import _seed_synonyms
from services.models import SearchSynonym
from services.views import SEARCH_MAX_LENGTH

pytestmark = pytest.mark.django_db

RESULT_LINK = re.compile(r'<h3 class="govuk-heading-s[^"]*"><a class="govuk-link" href="([^"]+)">')


def result_links(client, query: str) -> list[str]:
    """The links of the results page, in the order shown."""
    response = client.get("/services/", {"q": query})
    assert response.status_code == 200
    return RESULT_LINK.findall(response.content.decode())


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("开饭店", "/life-events/open-a-restaurant/"),
        ("生孩子", "/life-events/have-a-baby/"),
        ("失业金", "/services/unemployment-benefit/"),
        ("open a restaurant", "/life-events/open-a-restaurant/"),
        ("I want to open a restaurant", "/life-events/open-a-restaurant/"),
        ("我想开一家饭店", "/life-events/open-a-restaurant/"),
        ("上户口", "/services/newborn-household-registration/"),
        ("have a baby", "/life-events/have-a-baby/"),
        ("ＲＥＳＴＡＵＲＡＮＴＳ", "/life-events/open-a-restaurant/"),  # full-width, as some keyboards type
    ],
)
def test_plain_words_find_the_right_life_event_or_service_first(client, catalogue, query, first):
    assert result_links(client, query)[0] == first


def test_without_the_admins_synonyms_the_everyday_chinese_word_finds_less(client, catalogue):
    SearchSynonym.objects.all().delete()
    # 失业金 is still a tag of the service, but 开饭店 now finds only what mentions 饭店.
    assert result_links(client, "失业金")[0] == "/services/unemployment-benefit/"
    assert "/services/business-licence/" not in result_links(client, "开饭店")


def test_plurals_and_singulars_find_the_same(client, catalogue):
    assert result_links(client, "restaurants") == result_links(client, "restaurant")
    assert result_links(client, "babies")[0] == "/life-events/have-a-baby/"
    assert "/services/business-licence/" in result_links(client, "business licences")
    assert search.stem("licences") == "licence"
    assert search.stem("taxes") == "tax"
    assert search.stem("businesses") == "business"
    assert search.stem("status") == "status"


def test_a_name_beats_a_tag_and_a_tag_beats_a_summary(client, catalogue):
    # "restaurant" is in the life event's name, the food licence's tags, the fire check's summary.
    assert result_links(client, "restaurant") == [
        "/life-events/open-a-restaurant/",
        "/services/food-business-permit/",
        "/services/fire-safety-check/",
    ]


def test_the_whole_name_comes_first(client, catalogue):
    assert result_links(client, "Register a marriage")[0] == "/services/marriage-registration/"
    assert result_links(client, "结婚登记")[0] == "/services/marriage-registration/"


def test_a_result_matches_every_word_when_something_does(client, catalogue):
    # Both words: the newborn's insurance, and the life event that includes it (not the allowance).
    links = result_links(client, "baby insurance")
    assert sorted(links) == ["/life-events/have-a-baby/", "/services/newborn-social-insurance/"]


def test_a_misspelt_search_offers_the_closest_word(client, catalogue):
    page = client.get("/services/", {"q": "resturant"}).content.decode()
    assert "No service matches your search" in page
    assert 'Did you mean <a class="govuk-link" href="/services/?q=restaurant">restaurant</a>?' in page
    assert result_links(client, "restaurant")[0] == "/life-events/open-a-restaurant/"
    found = selectors.search_catalogue("matenity allowence")
    assert not found.hits and found.suggestion == "maternity allowance"


def test_nothing_like_it_offers_nothing(client, catalogue):
    page = client.get("/services/", {"q": "宇宙飞船"}).content.decode()
    assert "Did you mean" not in page
    assert "No service matches your search" in page


def test_synonyms_edited_in_the_admin_take_effect_on_the_next_search(client, administrator, catalogue):
    assert result_links(client, "takeaway") == []
    staff = type(client)()
    staff.force_login(administrator)
    response = staff.post(
        reverse("admin:services_searchsynonym_add"), {"term": " TakeAway ", "meanings": "food business，食品经营"}
    )
    assert response.status_code == 302
    synonym = SearchSynonym.objects.get(term="takeaway")
    assert synonym.meanings == "food business, 食品经营"
    assert result_links(client, "takeaway")[0] == "/services/food-business-permit/"

    response = staff.post(
        reverse("admin:services_searchsynonym_change", args=[synonym.pk]), {"term": "takeaway", "meanings": "marriage"}
    )
    assert response.status_code == 302
    assert result_links(client, "takeaway") == ["/services/marriage-registration/"]

    response = staff.post(reverse("admin:services_searchsynonym_delete", args=[synonym.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert result_links(client, "takeaway") == []


def test_the_admin_refuses_a_synonym_without_words_and_a_second_one_for_a_word(client, administrator, catalogue):
    client.force_login(administrator)
    page = client.post(reverse("admin:services_searchsynonym_add"), {"term": "开饭店", "meanings": " ，、 "})
    assert "Enter at least one word the catalogue uses" in page.content.decode()
    page = client.post(reverse("admin:services_searchsynonym_add"), {"term": "OPEN a  Restaurant", "meanings": "x"})
    assert "There is already a synonym for this word" in page.content.decode()


def test_a_citizen_cannot_edit_the_synonyms(client, bob, catalogue):
    client.force_login(bob)
    response = client.post(reverse("admin:services_searchsynonym_add"), {"term": "spam", "meanings": "marriage"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert not SearchSynonym.objects.filter(term="spam").exists()


def test_seeding_again_keeps_what_an_administrator_changed(catalogue):
    SearchSynonym.objects.filter(term="失业金").update(meanings="失业")
    assert _seed_synonyms() >= 20
    assert SearchSynonym.objects.get(term="失业金").meanings == "失业"


def test_an_empty_search_shows_the_whole_catalogue(client, catalogue):
    page = client.get("/services/", {"q": "   "}).content.decode()
    assert "Life events: one application, several departments" in page
    assert "Claim unemployment benefit" in page


def test_a_very_long_search_is_cut_to_the_longest_allowed(client, catalogue):
    response = client.get("/services/", {"q": "restaurant " * 200})
    assert response.status_code == 200
    page = response.content.decode()
    value = re.search(r'id="q" name="q" type="search" value="([^"]*)"', page)
    assert value is not None and len(value.group(1)) <= SEARCH_MAX_LENGTH
    assert RESULT_LINK.findall(page)[0] == "/life-events/open-a-restaurant/"


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=120) | st.text(alphabet="开饭店生孩子失业金 restaurant,，、!?%&*'\"<>", max_size=40))
def test_no_search_is_an_error(client, catalogue, query):
    response = client.get("/services/", {"q": query})
    assert response.status_code == 200


def test_the_api_search_is_ranked_too(client, catalogue):
    response = client.get("/api/services/", {"q": "restaurant"})
    assert response.status_code == 200
    codes = [service["code"] for service in response.json()["results"]]
    assert codes == ["food-business-permit", "fire-safety-check"]


def test_a_search_takes_milliseconds(catalogue):
    services, events = list(selectors.published_services()), list(selectors.life_events())
    selectors.search_catalogue("开饭店", services=services, events=events)  # the dictionary loads once
    started = time.perf_counter()
    for query in ("开饭店", "生孩子", "失业金", "open a restaurant", "resturant"):
        selectors.search_catalogue(query, services=services, events=events)
    assert (time.perf_counter() - started) / 5 < 0.1


def test_the_chinese_dictionary_loads_once_on_first_use_with_its_cache_under_var():
    # Importing the catalogue (as every request does) does not load the dictionary.
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); django.setup();"
        "import services.views, services.api; from services import segmenter; print(segmenter.loaded())"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
    tokenizer = segmenter.tokenizer()
    assert segmenter.tokenizer() is tokenizer
    assert Path(tokenizer.tmp_dir) == Path(settings.VAR_DIR) / "search"
    assert (Path(settings.VAR_DIR) / "search" / "jieba.cache").exists()
    assert not list(Path(jieba.__file__).parent.glob("*.cache"))
    assert segmenter.cut("开办餐饮店")[:2] == ["开办", "餐饮"]


def test_a_chinese_query_word_also_matches_by_its_shorter_words():
    query = search.query_parse("开饭店", {"开饭店": ("餐饮", "营业执照")})
    assert [term.text for term in query.words[0]] == ["开饭店", "开饭", "饭店", "餐饮", "营业执照"]
