"""Fixtures shared by the portal's tests."""

import io
import logging
from collections.abc import Iterator

import pytest

from portal.logging import JsonLineFormatter
from portal.request_context import RequestContextFilter


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the console handler writes with LOG_FORMAT=json, at the production level (INFO)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
