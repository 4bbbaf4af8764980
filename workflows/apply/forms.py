"""What the apply pages render: one view-model per question and per required document.

Validation is not here: every answer is cleaned by `services.elements.validate_value` inside
`draft_save`, so the HTML pages and the API give the same messages. These classes only turn
the merged form, the stored answers, the typed input and the errors into what a template shows.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _

from documents.models import Document
from documents.validation import limits_text
from lib.text import in_language, join_names
from services.elements import display_value, validate_value
from services.models import DataElement
from workflows.apply.selectors import FieldSpec, MaterialSpec, Reuse

Kind = DataElement.Kind

# How each kind of element is typed: (template widget, HTML input type, inputmode, autocomplete).
WIDGETS: dict[str, tuple[str, str, str, str]] = {
    Kind.TEXT: ("input", "text", "", ""),
    Kind.NUMBER: ("input", "text", "numeric", ""),
    Kind.DECIMAL: ("input", "text", "decimal", ""),
    Kind.DATE: ("input", "date", "", ""),
    Kind.BOOLEAN: ("radios", "", "", ""),
    Kind.CHOICE: ("radios", "", "", ""),
    Kind.EMAIL: ("input", "email", "email", "email"),
    Kind.PHONE: ("input", "tel", "tel", "tel"),
    Kind.ADDRESS: ("textarea", "", "", "street-address"),
    Kind.RESIDENT_ID: ("input", "text", "", ""),
}
AUTOCOMPLETE_BY_KEY = {"person.full_name": "name", "person.email": "email", "person.phone": "tel"}
# Choice lists longer than this are a drop-down rather than radios.
MAX_RADIOS = 8


def as_input(element: DataElement, value: Any) -> str:
    """A stored value as the text of its input ("yes"/"no" for booleans)."""
    if value is None:
        return ""
    if element.kind == Kind.BOOLEAN and isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _choices(element: DataElement) -> list[tuple[str, str]]:
    if element.kind == Kind.BOOLEAN:
        return [("yes", _("Yes")), ("no", _("No"))]
    return [
        (str(c.get("value")), in_language(c.get("label_en", str(c.get("value"))), c.get("label_zh", "")))
        for c in element.choices or []
    ]


@dataclass
class QuestionView:
    spec: FieldSpec
    value: str  # what the input shows: the typed text after an error, else the stored answer
    base: str  # the stored answer this page was rendered from (for the two-tab merge)
    required: bool
    errors: list[str] = field(default_factory=list)
    reuse: Reuse | None = None
    flagged: bool = False  # a verified value the applicant changed
    bound: bool = False  # the verified value, shown but not typed (identity, or a role the applicant holds)
    given: bool = False  # filled in by a preview from the answers so far (a role, a derivation), not saved yet

    @property
    def element(self) -> DataElement:
        return self.spec.element

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def id(self) -> str:
        return f"id_{self.spec.name}"

    @property
    def label(self) -> str:
        return self.element.label

    @property
    def hint(self) -> str:
        hint = self.element.help_text
        if self.element.kind == Kind.DATE and not hint:
            # A date of birth is in the past; other dates (a wedding, an opening) may be ahead.
            hint = _("For example, 1985-03-27") if "birth" in self.element.key else _("For example, 2027-03-27")
        return hint

    @property
    def widget(self) -> str:
        if self.element.kind == Kind.CHOICE and len(self.element.choices or []) > MAX_RADIOS:
            return "select"
        return WIDGETS.get(self.element.kind, WIDGETS[Kind.TEXT])[0]

    @property
    def input_type(self) -> str:
        return WIDGETS.get(self.element.kind, WIDGETS[Kind.TEXT])[1]

    @property
    def inputmode(self) -> str:
        return WIDGETS.get(self.element.kind, WIDGETS[Kind.TEXT])[2]

    @property
    def autocomplete(self) -> str:
        return AUTOCOMPLETE_BY_KEY.get(self.element.key) or WIDGETS.get(self.element.kind, WIDGETS[Kind.TEXT])[3]

    @property
    def choices(self) -> list[tuple[str, str]]:
        return _choices(self.element)

    @property
    def reused(self) -> bool:
        """The answer shown is the one the state already knew."""
        return self.reuse is not None and self.value != "" and self.value == as_input(self.element, self.reuse.value)

    @property
    def services(self) -> str:
        return join_names(s.name for s in self.spec.services)


def questions(
    *,
    specs: list[FieldSpec],
    data: Mapping[str, Any],
    known: Mapping[str, Reuse],
    flagged: list[str],
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[QuestionView]:
    typed, errors = typed or {}, errors or {}
    views = []
    for spec in specs:
        base = as_input(spec.element, data.get(spec.key))
        views.append(
            QuestionView(
                spec=spec,
                value=typed.get(spec.key, base),
                base=base,
                required=spec.required(data),
                errors=list(errors.get(spec.key, [])),
                reuse=known.get(spec.key),
                flagged=spec.key in flagged,
                bound=spec.is_bound(data),
            )
        )
    return views


def required_message(element: DataElement) -> str:
    """What to do about an unanswered required question, in the words of the question."""
    label = element.label
    # "Enter floor area", but keep "ID number" and other capitalised abbreviations as they are.
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        label = label[0].lower() + label[1:]
    if element.kind in (DataElement.Kind.CHOICE, DataElement.Kind.BOOLEAN):
        return _("Select %(label)s") % {"label": label}
    return _("Enter %(label)s") % {"label": label}


def unanswered(specs: list[FieldSpec], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The required questions among `specs` that have no answer in `data`, with what to do."""
    return {
        spec.key: [required_message(spec.element)]
        for spec in specs
        if spec.required(data) and data.get(spec.key) in (None, "", [])
    }


def posted_answers(post: QueryDict, specs: list[FieldSpec]) -> tuple[dict[str, str], dict[str, str]]:
    """(typed values, base values) of the questions this page rendered (each carries a base__ input)."""
    values, bases = {}, {}
    for spec in specs:
        base_name = f"base__{spec.name}"
        if base_name in post:
            values[spec.key] = post.get(spec.name, "")
            bases[spec.key] = post.get(base_name, "")
    return values, bases


def previewed_data(data: Mapping[str, Any], values: Mapping[str, str], specs: list[FieldSpec]) -> dict[str, Any]:
    """The saved answers with what was typed on the page laid over them, each typed value cleaned
    as saving would clean it; a value that would be refused, or is blank, counts as not given."""
    previewed = dict(data)
    by_key = {spec.key: spec for spec in specs}
    for key, raw in values.items():
        spec = by_key.get(key)
        if spec is None:
            continue
        try:
            cleaned = validate_value(spec.element, raw) if str(raw).strip() else None
        except ValidationError:
            cleaned = None
        if cleaned in (None, ""):
            previewed.pop(key, None)
        else:
            previewed[key] = cleaned
    return previewed


def conflict_message(element: DataElement, theirs: Any) -> str:
    if theirs in (None, ""):
        return _(
            "This answer was removed in another window while you were editing. Your answer is shown below: "
            "check it and save again to keep it."
        )
    return _(
        "This answer was changed to “%(value)s” in another window while you were editing. Your answer is shown "
        "below: check it and save again to keep it, or change it."
    ) % {"value": display_value(element, theirs)}


@dataclass
class MaterialView:
    spec: MaterialSpec
    required: bool
    documents: list[Document]  # clean, valid documents of this type in the vault
    attached: Document | None
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def id(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.document_type.name

    @property
    def services(self) -> str:
        return join_names(s.name for s in self.spec.services)

    @property
    def limits(self) -> str:
        """What a new file must be (type, size, pages, pixels), said before it is uploaded."""
        return limits_text(self.spec.document_type)

    @property
    def selected(self) -> str:
        if self.attached is not None:
            return str(self.attached.pk)
        # Offer the newest valid document of the vault: the applicant confirms by continuing.
        return str(self.documents[0].pk) if self.documents else ""

    @property
    def attached_is_listed(self) -> bool:
        return self.attached is None or any(d.pk == self.attached.pk for d in self.documents)
