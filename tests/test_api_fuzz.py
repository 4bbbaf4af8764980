"""API fuzzing: schemathesis against our own OpenAPI schema (/api/schema/), in-process through
the WSGI application, as each standard actor and as an anonymous caller.

Every operation gets FUZZ_EXAMPLES generated requests per actor (positive and negative data);
about half use the ids of real objects of the seeded world (Alice's drafts, documents,
applications, clerk A's work item) so the fuzzer gets past "404 not found" into the code that
does the work. Checks: no 5xx, responses and status codes and content types as documented,
authentication not ignored, deleted things stay deleted, and invalid data rejected.

`make test` runs a bounded pass (FUZZ_EXAMPLES=3); `make fuzz` a deeper one. Each run writes
var/fuzz/summary.json (operations, examples, failures by check).
"""

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from portal.wsgi import application
from tests.fuzz.world import ACTORS, Credentials, World, requests_keep_the_connection, signed_in, world_in_transaction

# The schemathesis test hides its signature from pytest-django: the marker asks for the database.
pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SUMMARY = Path(django_settings.BASE_DIR) / "var" / "fuzz" / "summary.json"
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    ignored_auth,
    use_after_free,
    negative_data_rejection,
]

STATS: dict[str, Counter] = {"examples": Counter(), "statuses": Counter(), "failures": Counter()}
OPERATIONS: set[str] = set()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    # Responses of the in-process WSGI app may be closed late (when collected): keep Django
    # from closing the test's connection for the whole module, not just around each call.
    with requests_keep_the_connection(), world_in_transaction(django_db_blocker) as built:
        yield built


@pytest.fixture(scope="module", params=ACTORS)
def actor(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def credentials(world, actor, django_db_blocker) -> Credentials | None:
    user = world.users[actor]
    if user is None:
        return None
    with django_db_blocker.unblock():
        return signed_in(user)


def session_auth(credentials: Credentials | None) -> type:
    """A schemathesis auth provider that signs requests in as one actor (session cookie, plus
    the CSRF cookie and header that session authentication wants for unsafe methods). Known to
    schemathesis as *the* authentication, so `ignored_auth` can take it away and expect 401/403.
    For the anonymous actor it provides nothing."""

    class SessionAuth:
        def get(self, case, context) -> Credentials | None:
            return credentials

        def set(self, case, data: Credentials, context) -> None:
            case.cookies = {**(case.cookies or {}), **data.cookies}
            case.headers = {**(case.headers or {}), **data.headers}

    return SessionAuth


@pytest.fixture(scope="module")
def api_schema(world, credentials, django_db_blocker):
    with django_db_blocker.unblock():
        loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    loaded.config.generation.update(max_examples=FUZZ_EXAMPLES, modes=["positive", "negative"], database="none")
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    loaded.auth(refresh_interval=None)(session_auth(credentials))
    return loaded


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(
        json.dumps(
            {
                "examples_per_operation_and_actor": FUZZ_EXAMPLES,
                "operations": len(OPERATIONS),
                "actors": list(ACTORS),
                "examples": sum(STATS["examples"].values()),
                "examples_by_actor": dict(STATS["examples"]),
                "statuses": {str(code): n for code, n in sorted(STATS["statuses"].items())},
                "failures_by_check": dict(STATS["failures"]),
            },
            indent=2,
        )
    )


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request) -> None:
    """schemathesis 4.32 renames the test node per operation through `node._nodeid`, which
    pytest 9.2 no longer has (it keeps `_id`); give it the attribute it reads."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def real_ids(world: World) -> dict[str, list]:
    """Values of the world's objects, by path parameter name."""
    return {
        "document_id": list(world["documents"]),  # type: ignore[call-overload]
        "group_id": [world["draft"], world["submitted_group"], world["decided_group"]],
        "item_id": [world["submitted_item"], world["decided_item"], world["appointment_item"]],
        "appointment_id": [world["appointment"]],
        "notification_id": [world["notification"]],
        "number": [world["submitted"], world["decided"]],
        "code": [world["service"], world["life_event"]],
        "key": [world["data_element"]],
        "reference": [world["payment"]],
    }


def use_real_ids(case, world: World, rng: random.Random) -> None:
    """Half of the cases aim at objects that exist (the other half keep generated ids)."""
    if not case.path_parameters or rng.random() < 0.5:
        return
    known = real_ids(world)
    for name in list(case.path_parameters):
        if name in known:
            case.path_parameters[name] = rng.choice(known[name])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_promises(case, actor, credentials, world, db):
    """No 5xx; every answer documented; authentication enforced; invalid input refused."""
    rng = random.Random(f"{actor}:{case.operation.label}:{sum(STATS['examples'].values())}")
    use_real_ids(case, world, rng)
    OPERATIONS.add(case.operation.label)
    STATS["examples"][actor] += 1
    response = case.call()
    STATS["statuses"][response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            STATS["failures"][f"{type(failure).__name__}: {case.operation.label}"] += 1
        raise


# --- What the fuzzer found, pinned ----------------------------------------------------------


@pytest.fixture
def alice_api(world, django_db_blocker):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.users["alice"])
    return client


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=0", "limit=1001", "offset=-1", "offset=1e3", "offset=99999999999999999999"],
)
@pytest.mark.parametrize("path", ["/api/drafts/", "/api/vault/documents/", "/api/notifications/", "/api/services/"])
def test_bad_paging_is_refused_not_ignored(alice_api, path, query):
    response = alice_api.get(f"{path}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_paging_within_range_and_empty_values_work(alice_api, world):
    assert alice_api.get("/api/vault/documents/?limit=&offset=").json()["count"] == len(world["documents"])
    page = alice_api.get("/api/vault/documents/?limit=2&offset=1").json()
    assert len(page["results"]) == 2 and page["previous"] is not None


def test_unread_must_be_a_yes_or_no(alice_api):
    assert alice_api.get("/api/notifications/?unread=maybe").status_code == 400
    assert alice_api.get("/api/notifications/?unread=true").status_code == 200


def test_the_schema_documents_errors_and_pages(world):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            responses = operation["responses"]
            if "{" in path:
                assert "404" in responses, (method, path)
            if {} not in operation.get("security", [{}]):
                assert "403" in responses, (method, path)
    lists = ["/api/drafts/", "/api/my/applications/", "/api/my/access-log/", "/api/notifications/", "/api/ratings/"]
    for path in lists:
        ok = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].split("/")[-1].startswith("Paginated"), path
