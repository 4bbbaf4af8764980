"""One kind of "no": a refusal whose message is for the person who asked.

Actions raise a `Refused` subclass when they refuse and change nothing. The API answers every
refusal the same way (`api_exception_handler`: {"detail": message} with the class's status,
409 Conflict unless it says otherwise); HTML views show the message where the person acted.
"""

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Refused(Exception):
    """Refused; nothing changed. `message` is written for the person who asked."""

    status_code: int = status.HTTP_409_CONFLICT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus refusals: {"detail": message} with the refusal's status."""
    if isinstance(exc, Refused):
        return Response({"detail": exc.message}, status=exc.status_code)
    return exception_handler(exc, context)
