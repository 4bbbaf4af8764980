"""Who a form's person elements are about, and what can be worked out instead of asked.

Roles (DESIGN §3, "once only"): the birth medical certificate asks for `mother.*` and
`father.*`. A version declares each of those prefixes as a role with a yes/no question
(`parents.applicant_is_mother`); when the applicant answers yes, the role's elements are the
applicant's verified `person.*` values (or their verified spouse's `spouse.*` values), bound
as identity elements are, never typed. The merged form of a life event asks each question once,
since it is a data element like any other.

Derivations: a date of birth and a sex are read from a checksum-valid resident ID number, an age
from a date of birth, for any prefix (`father.age` from `father.id_number`). A derived element is
computed, not asked, as soon as its source is known.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from services.elements import resident_id_birth_date, resident_id_sex

# Who a role may be: the applicant (their verified person.* values) or the applicant's spouse
# (spouse.*, verified from the marriage register). The value is the prefix the values come from.
ROLE_SOURCES = {"applicant": "person", "spouse": "spouse"}


@dataclass(frozen=True)
class Role:
    about: str  # the prefix of the elements about this person: "mother"
    source: str  # the prefix the values come from: "person" or "spouse"
    question: str  # a yes/no element of the form: yes means the role is the applicant (or spouse)

    def holds(self, data: Mapping[str, Any]) -> bool:
        return data.get(self.question) is True

    def source_key(self, key: str) -> str:
        """`mother.full_name` → `person.full_name`."""
        return f"{self.source}.{key.split('.', 1)[1]}"


def parse_roles(raw: Any) -> list[Role]:
    """The roles of a version's JSON; malformed entries are left out (publish refuses them)."""
    roles = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            continue
        about, who, question = entry.get("about"), entry.get("is", "applicant"), entry.get("question")
        if isinstance(about, str) and who in ROLE_SOURCES and isinstance(question, str):
            roles.append(Role(about=about, source=ROLE_SOURCES[who], question=question))
    return roles


def role_problems(raw: Any, element_kinds: Mapping[str, str]) -> list[str]:
    """Publish validation of a version's roles, in words an administrator understands."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        return [_("The roles must be a list.")]
    found = []
    prefixes = {key.split(".", 1)[0] for key in element_kinds}
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping):
            found.append(_("Role %(n)d is not an object.") % {"n": position})
            continue
        about, who, question = entry.get("about"), entry.get("is", "applicant"), entry.get("question")
        if not isinstance(about, str) or about not in prefixes or about in ROLE_SOURCES.values():
            found.append(
                _("Role %(n)d: “about” must name the prefix of elements on the form, such as mother.") % {"n": position}
            )
        if who not in ROLE_SOURCES:
            found.append(_("Role %(n)d: “is” must be applicant or spouse.") % {"n": position})
        if element_kinds.get(str(question)) != "boolean":
            found.append(_("Role %(n)d: “question” must name a yes/no field of the form.") % {"n": position})
    return found


def produces_problems(raw: Any, known_keys: set[str]) -> list[str]:
    if raw in (None, []):
        return []
    if not isinstance(raw, list) or not all(isinstance(key, str) for key in raw):
        return [_("“Produces” must be a list of data element keys.")]
    return [
        _("“Produces” names %(key)s, which is not a data element.") % {"key": key}
        for key in raw
        if key not in known_keys
    ]


# --- Derivations -------------------------------------------------------------------------------


def _age(born: Any) -> int | None:
    try:
        birth = born if isinstance(born, date) else date.fromisoformat(str(born))
    except ValueError:
        return None
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _birth_date(resident_id: Any) -> str | None:
    born = resident_id_birth_date(str(resident_id))
    return born.isoformat() if born is not None else None


# suffix → (the suffix it is worked out from, how)
DERIVATIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "date_of_birth": ("id_number", _birth_date),
    "sex": ("id_number", lambda value: resident_id_sex(str(value))),
    "age": ("date_of_birth", _age),
}


def derivation_source(key: str) -> str | None:
    """The element key `key` can be worked out from (`father.age` → `father.date_of_birth`)."""
    prefix, _dot, suffix = key.partition(".")
    rule = DERIVATIONS.get(suffix)
    return f"{prefix}.{rule[0]}" if rule else None


def derive(key: str, values: Mapping[str, Any]) -> Any:
    """The value of `key` worked out from `values` (following chains: age ← date of birth ←
    resident ID), or None when its source is not known or not valid."""
    source = derivation_source(key)
    if source is None:
        return None
    raw = values.get(source)
    if raw in (None, ""):
        raw = derive(source, values)
    if raw in (None, ""):
        return None
    return DERIVATIONS[key.partition(".")[2]][1](raw)
