"""Compiled querysets (lib/compiled.py) return what the ORM returns, one statement per run, with
the same SQL text every time, and refuse the shapes they cannot run faithfully."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.demo import seed_departments
from accounts.models import Session, User, VerifiedAttribute
from lib.compiled import Compiled
from services.demo import seed_catalogue
from services.models import Service, ServiceVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db) -> None:
    seed_departments()
    seed_catalogue()


_versions_of_service = Compiled(
    lambda code: ServiceVersion.objects.filter(service__code=code).select_related("service__lead_department")
)
_user_named = Compiled(lambda name: User.objects.filter(username=name))
_sessions_alive = Compiled(lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now))
_user_locked = Compiled(lambda pk: User.objects.filter(pk=pk).select_for_update())


def test_rows_and_related_objects_are_the_orms(demo):
    service = Service.objects.filter(versions__isnull=False).first()
    expected = list(ServiceVersion.objects.filter(service=service).select_related("service__lead_department"))
    with CaptureQueriesContext(connection) as queries:
        got = _versions_of_service.run(code=service.code)
        departments = [version.service.lead_department.code for version in got]  # no query: selected with it
    assert len(queries) == 1
    assert sorted(v.pk for v in got) == sorted(v.pk for v in expected)
    assert departments == [service.lead_department.code] * len(got)
    for version in got:
        original = next(v for v in expected if v.pk == version.pk)
        assert (version.number, version.status, version.service_id) == (
            original.number,
            original.status,
            original.service_id,
        )
        assert not version._state.adding and version._state.db == "default"


def test_each_run_takes_its_own_values_in_the_same_statement(django_user_model):
    ada = django_user_model.objects.create_user(username="ada", password="x-long-password-1")
    bob = django_user_model.objects.create_user(username="bob", password="x-long-password-2")
    with CaptureQueriesContext(connection) as queries:
        assert [u.pk for u in _user_named.run(name="ada")] == [ada.pk]
        assert [u.pk for u in _user_named.run(name="bob")] == [bob.pk]
        assert _user_named.first(name="nobody") is None
    texts = {q["sql"].replace("'ada'", "?").replace("'bob'", "?").replace("'nobody'", "?") for q in queries}
    assert len(queries) == 3 and len(texts) == 1


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_any_text_value_finds_what_the_orm_finds(django_user_model, name):
    VerifiedAttribute.objects.all().delete()
    User.objects.filter(username=name).delete()
    user = django_user_model.objects.create(username=name)
    assert [u.pk for u in _user_named.run(name=name)] == [user.pk]
    assert [u.pk for u in _user_named.run(name=name + "x")] == list(
        User.objects.filter(username=name + "x").values_list("pk", flat=True)
    )


def test_datetime_values_are_adapted_as_the_orm_adapts_them():
    now = timezone.now()
    Session.objects.create(session_key="k" * 32, session_data="{}", expire_date=now + datetime.timedelta(hours=1))
    assert _sessions_alive.first(key="k" * 32, now=now) is not None
    assert _sessions_alive.first(key="k" * 32, now=now + datetime.timedelta(hours=2)) is None


@pytest.mark.django_db(transaction=True)
def test_date_values_are_adapted_as_the_orm_adapts_them(django_user_model):
    joined = timezone.now()
    django_user_model.objects.create(username="dora", date_joined=joined)
    on_day = Compiled(lambda day: User.objects.filter(date_joined__date__lte=day))
    today = timezone.localdate(joined)
    assert [u.username for u in on_day.run(day=today)] == ["dora"]
    assert on_day.run(day=today - datetime.timedelta(days=1)) == []


@pytest.mark.django_db(transaction=True)
def test_for_update_needs_a_transaction(django_user_model):
    user = django_user_model.objects.create_user(username="carol", password="x-long-password-3")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert _user_locked.first(pk=user.pk) == user
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in queries[-1]["sql"]
        with pytest.raises(TransactionManagementError):
            _user_locked.run(pk=user.pk)


def test_an_id_beyond_any_column_finds_nothing_instead_of_failing():
    assert _user_named.first(name="x" * 500) is None
    with transaction.atomic():
        assert _user_locked.first(pk=2**62) is None


def test_values_must_keep_their_kind_and_names():
    _user_named.run(name="someone")
    with pytest.raises(TypeError):
        _user_named.run(name=None)
    with pytest.raises(TypeError):
        _user_named.run(name=7)
    with pytest.raises(TypeError):
        _user_named.run(username="someone")


def test_shapes_that_cannot_be_run_faithfully_are_refused_when_compiled():
    with pytest.raises(ValueError, match="changed"):  # icontains wraps the value in %…%
        Compiled(lambda name: User.objects.filter(username__icontains=name)).run(name="a")
    with pytest.raises(ValueError, match="does not reach"):
        Compiled(lambda name: User.objects.all()).run(name="a")
    with pytest.raises(ValueError, match="model instances"):
        Compiled(lambda name: User.objects.filter(username=name).values("pk")).run(name="a")
    with pytest.raises(ValueError, match="model instances"):
        Compiled(lambda name: User.objects.filter(username=name).prefetch_related("groups")).run(name="a")
    with pytest.raises(ValueError, match="boolean"):
        Compiled(lambda active: User.objects.filter(is_active=active)).run(active=True)
    with pytest.raises(ValueError, match="aware datetimes only"):
        Compiled(lambda when: User.objects.filter(date_joined__gt=when)).run(when=datetime.datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value refused
    with pytest.raises(ValueError, match="not float"):
        Compiled(lambda size: User.objects.filter(pk__gt=size)).run(size=1.5)


def test_the_session_store_reads_a_live_session_and_not_an_expired_or_unknown_one(client, django_user_model):
    from accounts.session_store import SessionStore

    user = django_user_model.objects.create_user(username="erin", password="x-long-password-4")
    client.force_login(user)
    key = client.cookies["sessionid"].value
    assert SessionStore(key).load()["_auth_user_id"] == str(user.pk)
    assert client.get("/api/drafts/").status_code == 200  # signed in through the compiled read
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore("z" * 32).load() == {}
    assert client.get("/api/drafts/").status_code == 403  # the expired session signs nobody in


def test_the_user_of_a_session_is_read_with_it_and_an_inactive_one_is_signed_out(client, django_user_model):
    user = django_user_model.objects.create_user(username="finn", password="x-long-password-5")
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/drafts/").status_code == 200
    user_reads = [q["sql"] for q in queries if '"accounts_user"' in q["sql"]]
    assert len(user_reads) == 1 and 'FROM "accounts_session" LEFT OUTER JOIN "accounts_user"' in user_reads[0]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/drafts/").status_code == 403
