"""Every URL of One Door, for every standard actor, against the table in tests/authz_matrix.py.

The URL patterns come from Django's resolver (nested includes walked), the API methods from the
DRF views themselves, so a new URL or a new method on an API view fails
`test_every_url_has_a_row` until someone decides who may use it.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.authz_matrix import ACTORS, ADMIN_PREFIX, DENIED, LOGIN, ROWS, Expect, Row
from tests.fuzz.world import Credentials, World, signed_in, world_in_transaction
from workflows.delegation.acting import SESSION_KEY

API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str
    methods: tuple[str, ...] | None  # the API view's methods; None for a function view


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            view_class = getattr(entry.callback, "cls", None)
            methods = None
            if view_class is not None:  # a DRF API view: one row per implemented method
                methods = tuple(m.upper() for m in API_METHODS if hasattr(view_class, m))
            yield Pattern(prefix + str(entry.pattern), name, methods)


def url_patterns() -> list[Pattern]:
    return list(walk(get_resolver().url_patterns))


def site_patterns() -> list[Pattern]:
    return [p for p in url_patterns() if not p.route.startswith(ADMIN_PREFIX)]


def test_every_url_has_a_row():
    rows = {row.key for row in ROWS}
    missing = []
    for pattern in site_patterns():
        assert pattern.name, f"URL {pattern.route!r} has no name; name it so the matrix can refer to it"
        if pattern.methods is None:
            if not any(name == pattern.name for name, _ in rows):
                missing.append(f"{pattern.name} ({pattern.route})")
        else:
            missing += [
                f"{pattern.name} {method} ({pattern.route})"
                for method in pattern.methods
                if (pattern.name, method) not in rows
            ]
    assert not missing, (
        "These URLs have no row in tests/authz_matrix.py. Add one per URL (and per API method) saying what "
        "anonymous, Alice, Bob, clerk A, clerk B, the supervisor and the administrator get:\n  " + "\n  ".join(missing)
    )


def test_every_row_names_a_url_that_exists():
    known = {p.name for p in site_patterns()}
    api = {(p.name, m) for p in site_patterns() if p.methods for m in p.methods}
    stale = [row.key for row in ROWS if row.name not in known]
    stale += [
        row.key
        for row in ROWS
        if row.name in {name for name, _ in api} and row.key not in api  # a method the API view lost
    ]
    assert not stale, f"rows for URLs that no longer exist (remove them): {stale}"


# --- Running the matrix ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with world_in_transaction(django_db_blocker) as built:
        yield built


@pytest.fixture(scope="module")
def sessions(world, django_db_blocker) -> dict[str, Credentials | None]:
    with django_db_blocker.unblock():
        sessions = {actor: (signed_in(user) if user else None) for actor, user in world.users.items()}
        # The delegate acts for Alice under her mandate (workflows/delegation/acting.py).
        delegate = world.users["delegate"]
        assert delegate is not None
        sessions["delegate"] = signed_in(delegate, **{SESSION_KEY: world["mandate"]})
        return sessions


def resolve_value(world: World, value):
    if isinstance(value, str) and value in world.ids:
        return world.ids[value]
    if isinstance(value, list):
        return [resolve_value(world, item) for item in value]
    if isinstance(value, dict):
        return {key: resolve_value(world, item) for key, item in value.items()}
    return value


def request(row: Row, actor: str, world: World, sessions) -> tuple[str, object]:
    """Sends the row's request as `actor` inside a savepoint that is rolled back."""
    client = Client()
    credentials = sessions[actor]
    if credentials is not None:
        client.cookies.load(credentials.cookies)
    url = reverse(row.name, kwargs=resolve_value(world, row.args))
    data = resolve_value(world, row.data or {})
    kwargs: dict = {"headers": row.headers}
    if row.json:
        kwargs.update(data=json.dumps(data), content_type="application/json")
    else:
        kwargs["data"] = data
    with transaction.atomic():
        response = getattr(client, row.method.lower())(url, **kwargs)
        transaction.set_rollback(True)
    return url, response


def matches(expected: Expect, response) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    if isinstance(expected, frozenset):
        return response.status_code in expected
    return response.status_code == expected


def describe(expected: Expect) -> str:
    if expected == LOGIN:
        return "302 to sign-in"
    if expected == DENIED:
        return "401/403"
    if isinstance(expected, frozenset):
        return "/".join(str(code) for code in sorted(expected))
    return str(expected)


@pytest.fixture(autouse=True)
def metrics_only_for_another_address(settings):
    """The test client's REMOTE_ADDR (127.0.0.1) is on the default metrics allowed list; the
    matrix holds what a person who is not the monitoring host gets."""
    settings.METRICS_ALLOWED_IPS = ["192.0.2.1"]
    settings.METRICS_TOKEN = ""


@pytest.mark.parametrize("actor", ACTORS)
def test_the_matrix(actor, world, sessions, db):
    """Each row for one actor; every mismatch is listed, not just the first."""
    wrong = []
    for row in ROWS:
        url, response = request(row, actor, world, sessions)
        expected = row.expect[actor]
        assert response.status_code < 500, f"{row.method} {url} as {actor}: {response.status_code}"
        if not matches(expected, response):
            location = f" → {response['Location']}" if response.status_code in (301, 302) else ""
            wrong.append(
                f"{row.method} {url} [{row.name}]: expected {describe(expected)}, got {response.status_code}{location}"
            )
    assert not wrong, f"{actor} got unexpected answers:\n  " + "\n  ".join(wrong)


# --- The admin site, as one group --------------------------------------------------------------


def admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    return urls


@pytest.mark.parametrize("actor", ACTORS)
def test_the_admin_site(actor, world, sessions, db):
    """Non-staff are sent to the admin's sign-in page; staff without permissions (clerks) see an
    empty index and are refused every model; the administrator sees everything."""
    client = Client()
    credentials = sessions[actor]
    if credentials is not None:
        client.cookies.load(credentials.cookies)
    user = world.users[actor]
    wrong = []
    for url in admin_urls():
        response = client.get(url)
        if user is None or not user.is_staff:
            ok = response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
        elif user.is_superuser:
            ok = response.status_code == 200
        else:
            ok = response.status_code == (200 if url == reverse("admin:index") else 403)
        if not ok:
            wrong.append(f"{url}: {response.status_code}")
    assert not wrong, f"{actor} in the admin:\n  " + "\n  ".join(wrong)
