"""Security headers on HTML and API responses, HSTS and `check --deploy` under the production
profile (OWASP ASVS V3/V14)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)


def production_env() -> dict[str, str]:
    database = settings.DATABASES["default"]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "PYTEST_")) and key not in {"DEBUG", "SECRET_KEY"}
    }
    env.update(
        PORTAL_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="onedoor.example,testserver",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        DJANGO_SETTINGS_MODULE="portal.settings",
        # A configured clamd (not contacted by the checks); without one check --deploy fails.
        CLAMD_HOST="clamav",
        # The key that seals the originals of uploads (documents.E003 without it).
        DOCUMENT_ORIGINALS_KEYS=Fernet.generate_key().decode(),
        # The transparency log's signing key, made on first use (workflows.E101 without any).
        TRANSPARENCY_GENERATE_KEY="true",
    )
    return env


def pages(client, alice):
    client.force_login(alice)
    return {
        "html page": client.get(reverse("portal:home")),
        "html form": client.get(reverse("accounts:register")),
        "html 404": client.get("/no-such-page/"),
        "api list": client.get(reverse("services-api:service-list")),
        "api 404": client.get("/api/vault/documents/999999999/"),
        "api schema": client.get(reverse("api-schema")),
    }


def test_every_response_carries_the_security_headers(client, alice):
    for name, response in pages(client, alice).items():
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        csp = response["Content-Security-Policy"]
        directives = {
            directive: value for directive, _, value in (part.strip().partition(" ") for part in csp.split(";"))
        }
        assert directives["frame-ancestors"] == "'none'", name
        assert directives["default-src"] == "'self'", name
        assert directives["script-src"] == "'self'", name
        assert directives["object-src"] == "'none'", name
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (name, csp)


def test_html_pages_have_no_inline_script_or_style_for_the_csp_to_block(client, alice):
    for name, response in pages(client, alice).items():
        if not response["Content-Type"].startswith("text/html"):
            continue
        body = response.content.decode()
        assert "<script>" not in body and " style=" not in body and "<style" not in body, name
        assert " onclick=" not in body and "javascript:" not in body, name


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
secure = client.get("/", secure=True)
plain = client.get("/accessibility/")
print(json.dumps({
    "status": secure.status_code,
    "hsts": secure.get("Strict-Transport-Security"),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location"),
    "cookie_secure": __import__("django.conf").conf.settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": __import__("django.conf").conf.settings.CSRF_COOKIE_SECURE,
}))
"""


def test_production_sends_hsts_and_redirects_to_https():
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    assert probe["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert probe["plain_status"] == 301
    assert probe["plain_location"] == "https://testserver/accessibility/"
    assert probe["cookie_secure"] is True and probe["csrf_cookie_secure"] is True


def test_check_deploy_is_clean_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_in_production_without_a_virus_scanner():
    env = {key: value for key, value in production_env().items() if not key.startswith("CLAMD_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "documents.E001" in result.stderr and "No virus scanner is configured" in result.stderr


def test_check_deploy_fails_in_production_without_a_key_for_the_originals():
    env = {key: value for key, value in production_env().items() if key != "DOCUMENT_ORIGINALS_KEYS"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "documents.E003" in result.stderr


def test_check_deploy_fails_in_production_without_a_transparency_signing_key(tmp_path):
    env = {key: value for key, value in production_env().items() if key != "TRANSPARENCY_GENERATE_KEY"}
    env["TRANSPARENCY_SIGNING_KEY"] = str(tmp_path / "missing.key")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "workflows.E101" in result.stderr
