"""Locust users for the submit scenario: each is one signed-in bench citizen applying again
and again (bench/flow.py). Every request and every finished application is logged with wall
clock times, so the orchestrator measures exactly the window after the warm-up."""

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task

from bench import flow

SESSIONS = json.loads(Path(os.environ["BENCH_SESSIONS"]).read_text())
LEASE = Path(os.environ["BENCH_LEASE"]).read_bytes()
_next_session = itertools.count()
_serial = itertools.count()
# Line-buffered, open for the life of the locust process.
REQUEST_LOG = open(os.environ["BENCH_LOG"] + ".requests.csv", "w", buffering=1)  # noqa: SIM115
FLOW_LOG = open(os.environ["BENCH_LOG"] + ".flows.csv", "w", buffering=1)  # noqa: SIM115


@events.request.add_listener
def _log_request(request_type, name, response_time, response_length, exception, **kwargs: Any) -> None:
    end = time.time()
    ok = "0" if exception else "1"
    REQUEST_LOG.write(f"{end - response_time / 1000:.6f},{end:.6f},{name},{ok},{response_time:.3f}\n")


class Citizen(FastHttpUser):
    wait_time = constant(0)
    connection_timeout = 60.0
    network_timeout = 60.0

    def on_start(self) -> None:
        session = SESSIONS[next(_next_session) % len(SESSIONS)]
        self.user_id = session["user_id"]
        self.cookie = f"sessionid={session['sessionid']}; csrftoken={session['csrftoken']}"
        self.csrf = session["csrftoken"]
        self.id_card = int(session["id_card"])

    def _call(self, method: str, path: str, name: str, *, json: Any = None, body: bytes | None = None,
              content_type: str | None = None, headers: dict | None = None) -> tuple[int, dict]:  # fmt: skip
        all_headers = {"Cookie": self.cookie, "X-CSRFToken": self.csrf, "Accept": "application/json"}
        if content_type:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        with self.client.request(
            method, path, name=name, json=json, data=body, headers=all_headers, catch_response=True
        ) as response:
            status = response.status_code or 0
            try:
                parsed = response.json() if response.text else {}
            except ValueError:
                parsed = {"text": (response.text or "")[:200]}
            if 200 <= status < 300:
                response.success()
            else:
                response.failure(f"HTTP {status}: {str(parsed)[:200]}")
        return status, parsed

    @task
    def apply(self) -> None:
        started = time.time()
        try:
            result = flow.apply_once(self._call, id_card=self.id_card, lease_pdf=LEASE, serial=next(_serial))
        except flow.FlowError as error:
            FLOW_LOG.write(f"{started:.6f},{time.time():.6f},0,,,{error.step}\n")
            return
        FLOW_LOG.write(
            f"{started:.6f},{time.time():.6f},{result.status},{result.group_id},{result.key},{result.number}\n"
        )
