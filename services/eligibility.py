""" "Check before you apply": the questions the eligibility rules ask, and what the answers mean."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from services import conditions
from services.elements import validate_value
from services.explain import describe_condition, element_labels
from services.models import DataElement, ServiceVersion, in_language


@dataclass
class FailedRule:
    service_name: str
    reason: str
    rule_text: str


@dataclass
class Verdict:
    """The outcome for one version: eligible, or which rules fail and why."""

    version: ServiceVersion
    failed: list[FailedRule] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.failed


def eligibility_elements(versions: Iterable[ServiceVersion]) -> list[DataElement]:
    """The data elements the rules of these versions use, each once, in the order first used."""
    keys: list[str] = []
    for version in versions:
        for rule in version.eligibility or []:
            for key in sorted(conditions.elements_named(rule.get("when"))):
                if key not in keys:
                    keys.append(key)
    found = element_labels(set(keys))
    return [found[key] for key in keys if key in found]


def clean_answers(elements: Iterable[DataElement], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned answers by element key, and error messages by element key (an answer is required)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for element in elements:
        try:
            value = validate_value(element, raw.get(element.key))
        except ValidationError as exc:
            errors[element.key] = exc.messages[0]
            continue
        if value is None:
            errors[element.key] = {
                str(DataElement.Kind.BOOLEAN): _("Select yes or no."),
                str(DataElement.Kind.CHOICE): _("Select one of the options."),
            }.get(element.kind, _("Enter an answer."))
            continue
        answers[element.key] = value
    return answers, errors


def judge(versions: Iterable[ServiceVersion], answers: Mapping[str, Any]) -> list[Verdict]:
    """Evaluates every rule of every version against the answers."""
    versions = list(versions)
    elements = element_labels({element.key for element in eligibility_elements(versions)})
    verdicts = []
    for version in versions:
        verdict = Verdict(version=version)
        for rule in version.eligibility or []:
            if not conditions.evaluate(rule.get("when"), answers):
                verdict.failed.append(
                    FailedRule(
                        service_name=version.service.name,
                        reason=in_language(rule.get("reason_en", ""), rule.get("reason_zh", "")),
                        rule_text=describe_condition(rule.get("when"), elements),
                    )
                )
        verdicts.append(verdict)
    return verdicts
