"""Paging for every API list: `?limit=` (1–1000, default PAGE_SIZE) and `?offset=` (from 0),
refused with 400 when they are not whole numbers in range instead of being silently replaced by
the defaults (DRF's own LimitOffsetPagination ignores `limit=abc`), so a client's mistake is
never mistaken for data, and an absurd offset never reaches the database.

The default pagination class (REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]); API views that page
by hand use `api_settings.DEFAULT_PAGINATION_CLASS` so they follow the same rules.
"""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 1000
MAX_OFFSET = 10**9


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def _bounds(self) -> dict[str, tuple[int, int]]:
        return {self.limit_query_param: (1, MAX_LIMIT), self.offset_query_param: (0, MAX_OFFSET)}

    def _whole_number(self, request: Request, name: str, default: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        minimum, maximum = self._bounds()[name]
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if not minimum <= value <= maximum:
            message = _("Give a whole number from %(minimum)s to %(maximum)s.")
            raise ValidationError({name: [message % {"minimum": minimum, "maximum": maximum}]})
        return value

    def get_limit(self, request: Request) -> int | None:
        return self._whole_number(request, self.limit_query_param, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._whole_number(request, self.offset_query_param, 0) or 0

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            minimum, maximum = self._bounds()[parameter["name"]]
            parameter["schema"] = {**parameter["schema"], "minimum": minimum, "maximum": maximum}
        return parameters
