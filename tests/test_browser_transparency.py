"""The public log's page when its signing key cannot be used (made while the development server
ran on another port): a plain page, axe clean at 1280 and 320 CSS pixels, never a 500."""

import pytest
from django.test import override_settings

from lib.signed_note import Signer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_log_page_with_a_key_of_another_origin_is_plain_and_accessible(
    page, live_server, tmp_path, assert_accessible
):
    key = tmp_path / "log-signing.key"
    key.write_text(Signer.generate("127.0.0.1:8000/transparency").text)
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(key), TRANSPARENCY_LOG_ORIGIN="127.0.0.1:8001/transparency"):
        for width in (1280, 320):
            page.set_viewport_size({"width": width, "height": 800})
            response = page.goto(f"{live_server.url}/transparency/")
            assert response.status == 503
            assert page.locator("h1").inner_text() == "The public log is unavailable"
            assert "Nothing recorded has been lost" in page.locator("main").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert_accessible(page)
