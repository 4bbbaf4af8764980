"""The route builder and the eligibility builder of the version admin: what they offer to choose
from (departments, handlers, document types, the data dictionary's elements) and the widgets that
carry it to static/js/route_builder.js.

The JSON textarea stays the real form field: with JavaScript off it is edited as before; with
JavaScript on, the builder writes the JSON into it on every change, and it stays reachable under
"Advanced: edit as JSON".
"""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from accounts.models import Department
from services import registry
from services.conditions import DEFAULT_OPERATORS, OPERATORS_BY_KIND
from services.models import DataElement, DocumentType, ServiceVersion
from services.routes import KINDS, RouteProblem


def _operator_labels() -> dict[str, str]:
    return {
        "eq": _("is"),
        "ne": _("is not"),
        "gt": _("is more than"),
        "gte": _("is at least"),
        "lt": _("is less than"),
        "lte": _("is at most"),
        "in": _("is one of"),
        "not_in": _("is none of"),
        "is_set": _("is answered"),
        "is_true": _("is yes"),
        "is_false": _("is no"),
    }


def _kind_labels() -> dict[str, str]:
    return {
        "review": _("Reviewed by a clerk"),
        "automatic": _("Automatic check"),
        "issue": _("Certificate issued"),
        "appointment": _("Appointment kept in person"),
        "payment": _("Fees paid"),
    }


def _strings() -> dict[str, str]:
    """The builders' words, translated here (the admin loads no JavaScript catalogue).
    Placeholders are filled by the script: %(n)s, %(name)s, %(code)s, %(keys)s, %(error)s."""
    return {
        "routeIntro": _(
            "Build the route step by step. The JSON below follows every change; the diagram and the "
            "checks are those publishing uses."
        ),
        "rulesIntro": _(
            "Each rule is a condition the applicant must meet, and the reason shown to them when they do not."
        ),
        "stepN": _("Step %(n)s"),
        "stepLegend": _("Step %(n)s: %(name)s"),
        "key": _("Key"),
        "keyHint": _("A short name other steps use to come after this one, e.g. licence."),
        "labelEn": _("Name shown (English)"),
        "labelZh": _("Name shown (Chinese)"),
        "department": _("Department"),
        "kind": _("Kind of step"),
        "handler": _("Handler (runs the automatic step)"),
        "documentType": _("Document type issued"),
        "sla": _("Time limit in working days"),
        "after": _("Comes after"),
        "firstStep": _("Add another step to make this one wait for it."),
        "unknownAfter": _("Also waits for steps that do not exist: %(keys)s."),
        "when": _("Only when (leave empty: always)"),
        "moveUp": _("Move up: %(name)s"),
        "moveDown": _("Move down: %(name)s"),
        "removeStep": _("Remove step: %(name)s"),
        "addStep": _("Add a step"),
        "ruleN": _("Rule %(n)s"),
        "eligibleWhen": _("Eligible only when"),
        "reasonEn": _("Reason shown when the rule is not met (English)"),
        "reasonZh": _("Reason shown when the rule is not met (Chinese)"),
        "reasonHint": _("e.g. The premises must be at least 10 square metres."),
        "ruleNeedsCondition": _("Add a condition to this rule."),
        "ruleNeedsReason": _("Give the reason in English."),
        "removeRule": _("Remove rule %(n)s"),
        "addRule": _("Add a rule"),
        "always": _("Always."),
        "match": _("Match"),
        "matchAll": _("all of these conditions"),
        "matchAny": _("any of these conditions"),
        "conditionN": _("Condition %(n)s"),
        "element": _("Question (data element)"),
        "operator": _("Test"),
        "value": _("Value"),
        "listHint": _("Separate values with commas."),
        "chooseElement": _("Choose a data element"),
        "onForm": _("On this version's form"),
        "notOnForm": _("Not on the form yet (add it as a form field)"),
        "choose": _("Choose…"),
        "yes": _("Yes"),
        "no": _("No"),
        "unknown": _("%(code)s (does not exist)"),
        "removeCondition": _("Remove condition %(n)s"),
        "addCondition": _("Add a condition"),
        "addAnotherCondition": _("Add another condition"),
        "conditionTooComplex": _("This condition is more than the builder shows; edit it as JSON below."),
        "noProblems": _("Checked: nothing in the route stops it from being published."),
        "oneProblem": _("Checked: 1 problem in the route."),
        "manyProblems": _("Checked: %(n)s problems in the route."),
        "cannotBuild": _("The JSON below cannot be shown as a form. Correct it, or edit it as JSON."),
        "jsonError": _("The JSON cannot be read: %(error)s"),
        "routeShape": _("The route must be an object with a list of “steps”."),
        "rulesShape": _("The eligibility rules must be a list of rules."),
    }


def _element(element: DataElement) -> dict[str, Any]:
    return {
        "key": element.key,
        "label": f"{element.label} ({element.key})",
        "kind": element.kind,
        "choices": [
            {"value": choice.get("value"), "label": choice.get("label_en") or choice.get("value")}
            for choice in element.choices or []
            if isinstance(choice, Mapping)
        ],
    }


def builder_options(version: ServiceVersion | None) -> dict[str, Any]:
    """Everything the builders offer to choose from, as JSON-ready data."""
    on_form: list[str] = []
    if version is not None and version.pk:
        on_form = list(version.fields.order_by("order").values_list("element__key", flat=True))
    elements = {element.key: element for element in DataElement.objects.order_by("key")}
    return {
        "departments": [
            {"code": department.code, "name": department.name} for department in Department.objects.order_by("name_en")
        ],
        "kinds": [{"code": kind, "name": _kind_labels()[kind]} for kind in KINDS],
        "handlers": [
            {"name": handler.name, "department": handler.department, "description": handler.description}
            for handler in sorted(registry.all_handlers().values(), key=lambda handler: handler.name)
        ],
        "documentTypes": [
            {"code": document_type.code, "name": document_type.name}
            for document_type in DocumentType.objects.order_by("name_en")
        ],
        "elementsOnForm": [_element(elements[key]) for key in on_form if key in elements],
        "otherElements": [_element(element) for key, element in elements.items() if key not in on_form],
        "operators": _operator_labels(),
        "operatorsByKind": {**OPERATORS_BY_KIND, "": DEFAULT_OPERATORS},
        "strings": _strings(),
    }


def problems_json(problems: list[RouteProblem]) -> list[dict[str, Any]]:
    return [{"message": problem.message, "step": problem.step, "position": problem.position} for problem in problems]


class BuilderTextarea(forms.Textarea):
    """The JSON textarea, wrapped for the builder (see the template). `builder` names the
    builder ("route" or "eligibility"); `options` and `problems` are handed to the script."""

    template_name = "services/admin/builder_widget.html"

    def __init__(
        self,
        *,
        builder: str,
        options: dict[str, Any],
        problems: list[dict[str, Any]] | None = None,
        preview_url: str = "",
        version_id: int | None = None,
    ) -> None:
        super().__init__(attrs={"rows": 12, "cols": 80, "spellcheck": "false", "class": "od-builder-json"})
        self.builder = builder
        self.options = options
        self.problems = problems or []
        self.preview_url = preview_url
        self.version_id = version_id

    class Media:
        css = {"all": ["css/route_builder.css"]}
        js = ["js/route_builder.js"]

    def _render(self, template_name, context, renderer=None):
        # The template lives with the project's templates, which the default form renderer
        # does not search.
        return mark_safe(render_to_string(template_name, context))  # noqa: S308 - a template's output

    def format_value(self, value):
        # An empty condition or route is shown empty, never as `null`.
        if value in (None, "null"):
            return ""
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["builder"] = {
            "kind": self.builder,
            "config": {
                "builder": self.builder,
                "options": self.options,
                "problems": self.problems,
                "previewUrl": self.preview_url,
                "version": self.version_id,
            },
            "config_id": f"{attrs.get('id') or name}-builder",
        }
        return context


class ConditionTextarea(forms.Textarea):
    """A condition's JSON (form fields, materials): an empty condition is shown empty, not `null`."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs={"rows": 2, "cols": 40, **(attrs or {})})

    def format_value(self, value):
        if value in (None, "null"):
            return ""
        return super().format_value(value)
