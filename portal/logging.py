"""Log formatting an operator can trust: one event per line.

LOG_FORMAT=json (the production default) writes JSON lines; the plain format (development)
escapes line breaks. Both carry the request id, the user's id and the application
(portal/request_context.py); JSON lines also the trace id and span id when tracing is on.
"""

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "user_id", "application", "trace_id", "span_id")


class SingleLineFormatter(logging.Formatter):
    """Escapes CR and LF so that user-supplied text cannot forge extra log lines."""

    def format(self, record: logging.LogRecord) -> str:
        for name in CONTEXT_FIELDS:  # a record from a handler without RequestContextFilter
            if not hasattr(record, name):
                setattr(record, name, None)
        text = super().format(record)
        return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line (python-json-logger): JSON escaping keeps user-supplied text on
    its line. Carries the request context (portal/request_context.py) and nothing else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "fmt",
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(application)s"
            " %(trace_id)s %(span_id)s",
        )
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)
