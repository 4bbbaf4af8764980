"""Identity bound to the account.

The data dictionary marks identity elements (name, resident ID, date of birth) as `bound`: on
every form they are the applicant's verified values, whatever is typed or posted. A save that
sends another value is refused at that field (nothing else is lost); a submission takes the
verified values, and is refused while the person has none, so nobody can apply in another
person's name. The same rule holds on every path: the HTML form, the API, the counter (which
saves through the same actions) and a correction.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lib.text import join_names
from services.elements import validate_value
from workflows.apply.actions.refusals import IdentityNotVerified
from workflows.apply.selectors import FieldSpec


def bound_problem(spec: FieldSpec, value: Any, verified: Mapping[str, Any]) -> str | None:
    """Why `value` cannot be saved for a bound field (None when it is the verified value)."""
    if not spec.element.bound:
        return None
    known = verified_value(spec, verified)
    if known is None:
        return _(
            "%(label)s comes from your verified identity, which we do not have yet. Sign in with national "
            "eID, or have your identity checked at any one-stop counter, then come back to this draft."
        ) % {"label": spec.element.label}
    if value != known:
        return _("%(label)s comes from your verified identity and cannot be changed.") % {"label": spec.element.label}
    return None


def verified_value(spec: FieldSpec, verified: Mapping[str, Any]) -> Any:
    raw = verified.get(spec.key)
    if raw in (None, ""):
        return None
    try:
        return validate_value(spec.element, raw)
    except ValidationError:
        return None


def bound_values(specs: Iterable[FieldSpec], verified: Mapping[str, Any]) -> dict[str, Any]:
    """The verified value of every bound field among `specs`; refuses when one is not known."""
    values, unknown = {}, []
    for spec in specs:
        if not spec.element.bound:
            continue
        known = verified_value(spec, verified)
        if known is None:
            unknown.append(spec.element.label)
        else:
            values[spec.key] = known
    if unknown:
        raise IdentityNotVerified(
            _(
                "This application asks for your %(names)s, which must come from your verified identity. "
                "Sign in with national eID, or have your identity checked at any one-stop counter; your draft is kept."
            )
            % {"names": join_names(unknown)}
        )
    return values
