"""Values a service's approval produces for the other applications of its life event.

A version's `produces` lists data elements. Those its own form asks (the baby's name on the
birth medical certificate) are the approved answers. Those it does not ask are made by the
department on approval, by a generator registered here per element: the business licence's
unified social credit code.
"""

from collections.abc import Callable
from typing import Any

from workflows.models import Application

# GB 32100-2015: the 31 characters of a unified social credit code and the weights of its
# check character.
CREDIT_CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration authority 9 (market regulation), type 1 (enterprise), the demo district's code.
CREDIT_CODE_PREFIX = "91110105"


def credit_code_check_character(first_17: str) -> str:
    total = sum(CREDIT_CODE_CHARACTERS.index(c) * w for c, w in zip(first_17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARACTERS[(31 - total % 31) % 31]


def credit_code_for(application: Application) -> str:
    """A unified social credit code, unique per application (its id in the organisation part)."""
    body = f"{CREDIT_CODE_PREFIX}{application.pk:09d}"
    return body + credit_code_check_character(body)


GENERATORS: dict[str, Callable[[Application], Any]] = {"business.credit_code": credit_code_for}


def produced_values_make(application: Application) -> dict[str, Any]:
    """The produced values the application does not hold yet, made by their generators."""
    data = application.data or {}
    return {
        key: GENERATORS[key](application)
        for key in application.service_version.produces or []
        if key in GENERATORS and data.get(key) in (None, "")
    }
