"""`make run`'s embedded mode migrates a fresh SQLite database, with the frozen-version triggers in
place afterwards (an added column rebuilds a table on SQLite, which the triggers must survive)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_a_fresh_sqlite_database_migrates_and_keeps_its_triggers(tmp_path):
    database = tmp_path / "portal.sqlite3"
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "PORTAL_TEST_DB_NAME"}}
    env.update(DATABASE_URL=f"sqlite:///{database}", PORTAL_ENV="development", DJANGO_SETTINGS_MODULE="portal.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(database) as connection:
        triggers = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"services_version_frozen_update", "services_version_frozen_delete", "services_formfield_frozen_insert"} <= (
        triggers
    )
