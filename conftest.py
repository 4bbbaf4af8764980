# The standard actors (tests/conftest.py) and harnesses (tests/support/) serve every app's tests.
from tests.conftest import *  # noqa: F403

pytest_plugins = ["tests.support.processes", "tests.support.browser", "tests.support.eid"]
