"""Serializers that only write responses, without rebuilding their fields for each response.

DRF gives every serializer instance its own fields by deep-copying the declared ones, and a
field's deep copy constructs it again from its arguments: for a response of twenty fields that
is most of the serializer's own time. An `OutputSerializer` copies each declared field shallowly
instead, then binds the copy as DRF does. A copy shares only what binding never changes (its
arguments, validators, messages); a nested serializer is still deep-copied, since binding it
builds its own fields. Use it for responses only: validation (`is_valid`) is not its purpose.
"""

import copy
from typing import Any

from rest_framework import serializers


class OutputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, Any]:
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }
