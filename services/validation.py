"""Publish validation of a service version: everything that must hold before citizens see it.

Each problem is a sentence an administrator understands, naming the field, material, fee,
rule or route step it is about. `version_problems` only reads; `services.actions.version_publish`
refuses to publish while it returns anything.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from services import conditions
from services.models import DataElement, ServiceVersion
from services.roles import produces_problems, role_problems
from services.routes import RouteError, check_route, parse_route


def version_problems(version: ServiceVersion) -> list[str]:
    found: list[str] = []
    if version.status != ServiceVersion.Status.DRAFT:
        found.append(_("Only a draft can be published; this version is %(status)s.") % {"status": version.status})

    fields = list(version.fields.select_related("element"))
    element_kinds: dict[str, str] = {}
    for position, field in enumerate(fields, start=1):
        if field.element_id is None:
            found.append(_("Form field %(n)d has no data element.") % {"n": position})
            continue
        element_kinds[field.element.key] = field.element.kind
    if not fields:
        found.append(_("The form has no fields: add at least one data element."))

    for field in fields:
        if field.element_id is None:
            continue
        for problem in conditions.problems(field.when, element_kinds):
            found.append(
                _("Form field “%(element)s”, “shown when”: %(problem)s.")
                % {"element": field.element.key, "problem": problem}
            )
        if field.element.key in conditions.elements_named(field.when):
            found.append(_("Form field “%(element)s” is shown depending on itself.") % {"element": field.element.key})

    materials = list(version.materials.select_related("document_type"))
    for material in materials:
        for problem in conditions.problems(material.when, element_kinds):
            found.append(
                _("Material “%(code)s”, “needed when”: %(problem)s.")
                % {"code": material.document_type.code, "problem": problem}
            )

    for fee in version.fees.all():
        amount = fee.amount
        if not isinstance(amount, Decimal) or not amount.is_finite():
            found.append(_("Fee “%(label)s”: the amount is not a number.") % {"label": fee.label_en})
        elif amount < 0:
            found.append(_("Fee “%(label)s”: the amount cannot be negative.") % {"label": fee.label_en})
        elif amount.scaleb(2) != amount.scaleb(2).to_integral_value():
            found.append(_("Fee “%(label)s”: the amount must be a whole number of fen.") % {"label": fee.label_en})
        if fee.per_unit and element_kinds.get(fee.per_unit) != "number":
            found.append(
                _("Fee “%(label)s”: “per unit of” must name a whole-number field on the form, not “%(key)s”.")
                % {"label": fee.label_en, "key": fee.per_unit}
            )
        for problem in conditions.problems(fee.exempt_when, element_kinds):
            found.append(
                _("Fee “%(label)s”, “not charged when”: %(problem)s.") % {"label": fee.label_en, "problem": problem}
            )

    if version.time_limit_days < 1:
        found.append(_("The statutory time limit must be at least one working day."))

    rules = version.eligibility
    if rules and not isinstance(rules, list):
        found.append(_("The eligibility rules must be a list."))
    else:
        for position, rule in enumerate(rules or [], start=1):
            if not isinstance(rule, dict) or not rule.get("when"):
                found.append(_("Eligibility rule %(n)d has no “when” condition.") % {"n": position})
                continue
            if not rule.get("reason_en"):
                found.append(
                    _("Eligibility rule %(n)d has no reason (reason_en) to show when it fails.") % {"n": position}
                )
            for problem in conditions.problems(rule["when"], element_kinds):
                found.append(_("Eligibility rule %(n)d: %(problem)s.") % {"n": position, "problem": problem})

    found += role_problems(version.roles, element_kinds)
    if version.produces:
        found += produces_problems(
            version.produces, set(DataElement.objects.filter(key__in=version.produces).values_list("key", flat=True))
        )
    found += check_route(
        version.route,
        element_kinds=element_kinds,
        materials=[material.document_type.code for material in materials],
    )
    found += _payment_step_problems(version)
    return found


def _payment_step_problems(version: ServiceVersion) -> list[str]:
    """A payment step charges the version's fees: it needs some, and one is enough."""
    try:
        payment_steps = [step for step in parse_route(version.route) if step.kind == "payment"]
    except RouteError:
        return []  # check_route has said what is wrong with the route
    found = []
    if len(payment_steps) > 1:
        found.append(_("The route has more than one payment step: the fees are paid once, in one step."))
    if payment_steps and not version.fees.exists():
        found.append(_("Step “%(key)s” takes a payment, but the version has no fees.") % {"key": payment_steps[0].key})
    return found
