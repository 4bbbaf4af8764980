"""The submit path stays cheap: a published version's form is read once per process (it is
frozen), a draft version's form is read every time (it is being edited), and each request of
applying runs a fixed, small number of queries."""

import pytest

from services.models import FormField, ServiceVersion
from workflows.apply.selectors import merged_form, version_parts_cache_clear
from workflows.tests.test_apply_support import catalogue  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_published_versions_form_is_read_once(catalogue, django_assert_num_queries):  # noqa: F811
    version_parts_cache_clear()
    first = merged_form(
        [ServiceVersion.objects.select_related("service").get(pk=catalogue.version(catalogue.licence).pk)]
    )
    fresh = ServiceVersion.objects.select_related("service").get(pk=first.versions[0].pk)
    with django_assert_num_queries(0):
        again = merged_form([fresh])
    assert [spec.key for spec in again.fields] == [spec.key for spec in first.fields]
    assert [m.code for m in again.materials] == ["id-card-copy", "lease"]


def test_a_draft_versions_form_is_never_kept(catalogue):  # noqa: F811
    published = catalogue.version(catalogue.licence)
    draft = ServiceVersion.objects.create(service=catalogue.licence, number=2)
    FormField.objects.create(version=draft, element=catalogue.elements["business.name"], section_en="Business")
    assert [spec.key for spec in merged_form([draft]).fields] == ["business.name"]

    FormField.objects.create(version=draft, element=catalogue.elements["business.kind"], section_en="Business", order=1)
    draft = ServiceVersion.objects.get(pk=draft.pk)
    assert [spec.key for spec in merged_form([draft]).fields] == ["business.name", "business.kind"]
    assert len(merged_form([published]).fields) == 7
