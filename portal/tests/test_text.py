"""Lists in running text follow the reader's language."""

from django.template import Context, Template
from django.utils import translation

from lib.text import join_names


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_names_are_joined_with_the_languages_separator():
    assert join_names(["Market", "Fire", "Tax"]) == "Market, Fire, Tax"
    with translation.override("zh-hans"):
        assert join_names(["市场监管", "消防", "税务"]) == "市场监管、消防、税务"
    assert join_names([]) == ""


def test_the_names_filter_reads_a_dotted_attribute():
    items = [Named("A"), Named("B")]
    template = Template('{% load portal_text %}{{ items|names:"name" }}|{{ words|names }}')
    assert template.render(Context({"items": items, "words": ["x", "y"]})) == "A, B|x, y"
    with translation.override("zh-hans"):
        assert template.render(Context({"items": items, "words": ["x"]})) == "A、B|x"
