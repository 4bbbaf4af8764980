"""A web worker starts without the libraries of work it does not do at start: issuing and signing
certificates (pyHanko, the local test PKI, reportlab), checking signatures, previews (PDFium,
Pillow), disarming uploads (pikepdf), receipts, Chinese search (jieba), eID sign-in (Authlib),
QR codes (segno) and calendar files (icalendar). Each is imported by the function that uses it;
together they were about 45 MB of every web worker's memory (docs/benchmarks.md). Read in a
fresh process, as gunicorn's worker starts: `portal.wsgi:application` (django.setup() and the
middleware) and then the URLconf, which imports every view."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# Top-level packages that only the functions using them import.
LOADED_WHERE_USED = (
    "pyhanko",
    "pyhanko_certvalidator",
    "certomancer",
    "asn1crypto",
    "reportlab",
    "pikepdf",
    "pypdfium2",
    "PIL",
    "jieba",
    "authlib",
    "joserfc",
    "segno",
    "icalendar",
)

WEB_WORKER_START = """
import json, sys
from django.urls import get_resolver
from portal.wsgi import application
get_resolver().url_patterns
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def loaded_at_start(environment: dict[str, str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", WEB_WORKER_START],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def environment_as_tests_run() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}


def environment_as_production(directory: Path) -> dict[str, str]:
    """The production settings as the bench runs them (bench/config.py), with throwaway secrets."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "OTEL_"))}
    environment.pop("TRACING_SPANS_FILE", None)
    environment.update(
        {
            "PORTAL_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": "throwaway-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "PRIVATE_STORAGE_ROOT": str(directory / "private"),
            "TRANSPARENCY_SIGNING_KEY": str(directory / "transparency-signing.key"),
            "TRANSPARENCY_GENERATE_KEY": "true",
            "SIGNING_LOCAL_PKI": "true",
            "SIGNING_LOCAL_PKI_DIR": str(directory / "pki"),
            "DOCUMENT_ORIGINALS_KEYS": "A" * 43 + "=",
            "DOCUMENT_SCAN_REQUIRED": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    return environment


@pytest.mark.parametrize("profile", ["test", "production"])
def test_a_web_worker_starts_without_the_libraries_of_documents_search_and_eid(profile, tmp_path):
    environment = environment_as_tests_run() if profile == "test" else environment_as_production(tmp_path)
    loaded = loaded_at_start(environment)
    assert "documents" in loaded  # the views were imported
    assert sorted(loaded & set(LOADED_WHERE_USED)) == []


WORKER_START = """
import json, sys
import django
django.setup()
from celery import signals
from portal.celery import import_document_libraries
assert any(receiver is import_document_libraries for _, receiver in signals.worker_init.receivers)
import_document_libraries()
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_celery_worker_imports_them_before_its_pool_forks():
    """The worker issues, signs and disarms documents: its children share the libraries."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        cwd=BASE_DIR,
        env=environment_as_tests_run(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert {"pyhanko", "certomancer", "reportlab", "segno", "pikepdf", "PIL"} <= loaded
