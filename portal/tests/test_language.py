import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_language_switch_shows_the_page_in_chinese_and_back(client):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    body = response.content.decode()
    assert 'lang="zh-Hans"' in body
    assert "一站式政务服务" in body or "政务服务" in body
    assert "登录" in body
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert "Sign in" in response.content.decode()


def test_every_page_has_a_skip_link_and_accessibility_statement(client):
    body = client.get(reverse("portal:home")).content.decode()
    assert 'href="#main-content"' in body
    assert reverse("portal:accessibility") in body
    assert client.get(reverse("portal:accessibility")).status_code == 200


def test_an_unknown_address_gets_the_portal_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_pages_send_a_strict_content_security_policy(client):
    response = client.get(reverse("portal:home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
