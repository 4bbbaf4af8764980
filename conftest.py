# The standard actors (tests/conftest.py) and harnesses (tests/support/) serve every app's tests.
import pytest
from django.test import Client

from tests.conftest import *  # noqa: F403
from tests.support.second_factor import session_confirm

pytest_plugins = ["tests.support.processes", "tests.support.browser", "tests.support.eid", "tests.support.tracing"]


@pytest.fixture(autouse=True)
def staff_second_factor_confirmed(request, monkeypatch):
    """A test client signed in as a member of staff (`force_login`, `login`) has its second
    factor confirmed, with a real TOTP device of that person (tests/support/second_factor.py):
    the staff gate is tested on its own, in tests marked `second_factor_gate`, which turn this off."""
    if request.node.get_closest_marker("second_factor_gate"):
        return
    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        session_confirm(session, user)
        session.save()

    monkeypatch.setattr(Client, "_login", _login)
