"""The registry of department handlers: the code that runs an `automatic` route step.

Handlers live with the engine (workflows/engine/handlers.py) and register here by name, each
declaring its options as name → Python type (bool, int, float, str). Publish validation
(`services.routes.check_route`) checks that every automatic step names one, and that the step's
`options` are only declared ones, each a JSON value of the declared type.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HandlerFunction = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Handler:
    name: str  # e.g. "tax.register"
    department: str  # department code whose queue runs it
    function: HandlerFunction
    description: str = ""
    options: dict[str, type] = field(default_factory=dict)


_handlers: dict[str, Handler] = {}


def register(name: str, *, department: str, description: str = "", options: dict[str, type] | None = None):
    """Decorator: ``@register("tax.register", department="tax")``."""

    def decorate(function: HandlerFunction) -> HandlerFunction:
        if name in _handlers and _handlers[name].function is not function:
            raise ValueError(f"handler {name!r} is registered twice")
        _handlers[name] = Handler(name, department, function, description, options or {})
        return function

    return decorate


def get(name: str) -> Handler:
    return _handlers[name]


def is_registered(name: str) -> bool:
    return name in _handlers


def all_handlers() -> dict[str, Handler]:
    return dict(_handlers)
