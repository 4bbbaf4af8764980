"""Log formatting an operator can trust: one event per line."""

import logging


class SingleLineFormatter(logging.Formatter):
    """Escapes CR and LF so that user-supplied text cannot forge extra log lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
