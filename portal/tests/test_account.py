"""My account: who the portal knows you are (masked), and links to everything a person has."""

import pytest
from django.urls import reverse

from accounts.models import VerifiedAttribute
from services.models import DataElement

pytestmark = pytest.mark.django_db


def test_the_account_page_shows_the_verified_identity_masked(client, alice):
    DataElement.objects.create(
        key="person.id_number", kind="resident_id", label_en="Resident ID number", label_zh="居民身份证号码"
    )
    VerifiedAttribute.objects.create(
        user=alice, element_key="person.id_number", value="11010519491231002X", source="identity"
    )
    client.force_login(alice)
    page = client.get(reverse("portal:account")).content.decode()
    assert "Your verified identity" in page and "110105********002X" in page and "11010519491231002X" not in page
    assert "Identity verification" in page


def test_without_a_verified_identity_the_page_says_what_to_do(client, bob):
    client.force_login(bob)
    page = client.get(reverse("portal:account")).content.decode()
    assert "has not been verified yet" in page


def test_my_account_links_everything_a_person_has(client, alice):
    client.force_login(alice)
    page = client.get(reverse("portal:account")).content.decode()
    for url in ("/applications/", "/vault/", "/inbox/", "/account/notifications/", "/account/access-log/"):
        assert f'href="{url}"' in page
