"""Routes: the small graph of department steps a service version is handled by (DESIGN §4).

A route is JSON stored on the version::

    {"steps": [
      {"key": "licence", "department": "market", "kind": "review", "sla_days": 5},
      {"key": "fire", "department": "fire", "kind": "review", "after": ["licence"],
       "when": {"element": "business.floor_area_m2", "gt": 300}},
      {"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register", "after": ["licence"],
       "options": {"prefix": "TAX"}},
      {"key": "issue", "department": "market", "kind": "issue", "document_type": "food-business-licence",
       "after": ["fire", "tax"]}
    ]}

A step may say what its department needs to see (data minimisation)::

    "needs": {"elements": ["business.name", "business.floor_area_m2"], "documents": ["fire-safety-plan"]}

Without `needs`, a step sees everything its own service's form asks (for an application of a
life-event bundle, that service's questions and documents, never the whole merged form). With
it, the step's clerks see only what it lists; a part left out lists nothing.

`parse_route` turns it into `RouteStep`s for the engine; `route_problems` is the publish
validation, with messages an administrator understands, each naming the step.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Department
from services import conditions, registry
from services.models import DocumentType, ServiceVersion, in_language

# "appointment": the step waits until the applicant has kept an appointment booked for it
# (an inspection, signing in person) and a clerk of the department marked it done.
# "payment": the step waits until the fees are paid (its statutory clock stopped meanwhile).
KINDS = ("review", "automatic", "issue", "appointment", "payment")
ON_REJECT = ("stop", "continue")


class RouteError(ValueError):
    """The route JSON does not have the shape of a route at all."""


@dataclass(frozen=True)
class StepNeeds:
    """What a step's department is shown of an application: data-element keys and document-type
    codes. A step without one is shown everything its service's form asks."""

    elements: frozenset[str] = frozenset()
    documents: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, list[str]]:
        return {"elements": sorted(self.elements), "documents": sorted(self.documents)}


@dataclass(frozen=True)
class RouteStep:
    key: str
    department: str  # Department.code
    kind: str  # "review" | "automatic" | "issue" | "appointment" | "payment"
    after: tuple[str, ...] = ()
    when: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)
    sla_days: int | None = None
    handler: str | None = None  # registered handler name, automatic steps only
    document_type: str | None = None  # DocumentType.code, issue steps only
    on_reject: str = "stop"  # "stop": a rejection ends the application; "continue": the others go on
    label_en: str = ""
    label_zh: str = ""
    # Departments a clerk may hand this review step to on their own; any other needs the
    # approval of a supervisor of the step's department.
    transfer_to: tuple[str, ...] = ()
    # What the route gives the handler of an automatic step, checked at publish against the
    # options the handler declares (services.registry).
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    # What the department is shown (None: all that the service's form asks).
    needs: StepNeeds | None = None
    # Codes of services this step waits for when the application is part of a life event that
    # also applies for them: the step opens only once that sibling application is approved and
    # the data it produces has been written into this one (workflows.engine.bundles). Applied for
    # alone, the application does not wait (the applicant gave that data themselves).
    waits_for: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What the step is called on screens; falls back to its key."""
        return in_language(self.label_en, self.label_zh) or self.key

    @property
    def is_conditional(self) -> bool:
        return bool(self.when)


def _steps_json(route_json: Any) -> list[Any]:
    if route_json is None or route_json == {}:
        return []
    if isinstance(route_json, Mapping):
        steps = route_json.get("steps")
        if not isinstance(steps, list):
            raise RouteError(_("The route must be an object with a list of “steps”."))
        return steps
    if isinstance(route_json, list):
        return route_json
    raise RouteError(_("The route must be an object with a list of “steps”."))


def parse_route(route_json: Any) -> list[RouteStep]:
    """The steps of a route, in the order they are written. Raises RouteError on a malformed shape."""
    steps: list[RouteStep] = []
    for position, raw in enumerate(_steps_json(route_json), start=1):
        if not isinstance(raw, Mapping):
            raise RouteError(_("Step %(n)d of the route is not an object.") % {"n": position})
        key = raw.get("key")
        if not isinstance(key, str) or not key.strip():
            raise RouteError(_("Step %(n)d of the route has no “key”.") % {"n": position})
        after = raw.get("after") or ()
        if isinstance(after, str):
            after = (after,)
        if not isinstance(after, list | tuple) or not all(isinstance(item, str) for item in after):
            raise RouteError(_("Step “%(key)s”: “after” must be a list of step keys.") % {"key": key})
        sla_days = raw.get("sla_days")
        if sla_days is not None and (isinstance(sla_days, bool) or not isinstance(sla_days, int)):
            raise RouteError(_("Step “%(key)s”: “sla_days” must be a whole number of days.") % {"key": key})
        when = raw.get("when") or None
        if when is not None and not isinstance(when, Mapping):
            raise RouteError(_("Step “%(key)s”: “when” must be a condition object.") % {"key": key})
        transfer_to = raw.get("transfer_to") or ()
        if isinstance(transfer_to, str):
            transfer_to = (transfer_to,)
        if not isinstance(transfer_to, list | tuple) or not all(isinstance(item, str) for item in transfer_to):
            raise RouteError(_("Step “%(key)s”: “transfer_to” must be a list of department codes.") % {"key": key})
        needs = _parse_needs(key, raw.get("needs"))
        waits_for = raw.get("waits_for") or ()
        if isinstance(waits_for, str):
            waits_for = (waits_for,)
        if not isinstance(waits_for, list | tuple) or not all(isinstance(item, str) for item in waits_for):
            raise RouteError(_("Step “%(key)s”: “waits_for” must be a list of service codes.") % {"key": key})
        # Options that are not an object are left out here rather than refused: versions published
        # before options were checked are still parsed by the engine and the pages, which must not
        # fail on them. Publish validation refuses them (`check_route`).
        options = raw.get("options")
        steps.append(
            RouteStep(
                key=key,
                department=str(raw.get("department") or ""),
                kind=str(raw.get("kind") or ""),
                after=tuple(after),
                when=when,
                sla_days=sla_days,
                handler=raw.get("handler") or None,
                document_type=raw.get("document_type") or None,
                on_reject=str(raw.get("on_reject") or "stop"),
                label_en=str(raw.get("label_en") or ""),
                label_zh=str(raw.get("label_zh") or ""),
                transfer_to=tuple(transfer_to),
                options=dict(options) if isinstance(options, Mapping) else {},
                needs=needs,
                waits_for=tuple(waits_for),
            )
        )
    return steps


NEEDS_PARTS = ("elements", "documents")


def _parse_needs(key: str, raw: Any) -> StepNeeds | None:
    """A step's `needs`: None when it has none (it sees what its form asks)."""
    if raw is None:
        return None
    shape = _("Step “%(key)s”: “needs” must be an object with a list of “elements” and a list of “documents”.") % {
        "key": key
    }
    if not isinstance(raw, Mapping) or any(part not in NEEDS_PARTS for part in raw):
        raise RouteError(shape)
    parts: dict[str, frozenset[str]] = {}
    for part in NEEDS_PARTS:
        listed = raw.get(part) or []
        if not isinstance(listed, list | tuple) or not all(isinstance(item, str) for item in listed):
            raise RouteError(shape)
        parts[part] = frozenset(listed)
    return StepNeeds(elements=parts["elements"], documents=parts["documents"])


def step_depths(steps: Iterable[RouteStep]) -> dict[str, int]:
    """Column of each step: 0 for a start step, else one more than its deepest `after` step.

    Steps in a cycle (or waiting on one, or on an unknown step) are left out.
    """
    by_key = {step.key: step for step in steps}
    depths: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(key: str) -> int | None:
        if key in depths:
            return depths[key]
        if key in visiting or key not in by_key:
            return None
        visiting.add(key)
        parents = [depth(parent) for parent in by_key[key].after]
        visiting.discard(key)
        if any(parent is None for parent in parents):
            return None
        depths[key] = 1 + max((p for p in parents if p is not None), default=-1)
        return depths[key]

    for key in by_key:
        depth(key)
    return depths


def topological_order(steps: Iterable[RouteStep]) -> list[RouteStep]:
    """Steps ordered so every step comes after the steps it waits for (stable within a column)."""
    steps = list(steps)
    depths = step_depths(steps)
    position = {step.key: index for index, step in enumerate(steps)}
    ordered = [step for step in steps if step.key in depths]
    return sorted(ordered, key=lambda step: (depths[step.key], position[step.key]))


def _find_cycles(by_key: Mapping[str, RouteStep]) -> list[list[str]]:
    """Each cycle once, as the list of step keys along it."""
    cycles: list[list[str]] = []
    seen_cycle_sets: set[frozenset[str]] = set()
    state: dict[str, str] = {}  # "active" while on the stack, "done" after
    stack: list[str] = []
    order = {key: position for position, key in enumerate(by_key)}

    def visit(key: str) -> None:
        state[key] = "active"
        stack.append(key)
        for parent in by_key[key].after:
            if parent not in by_key:
                continue
            if state.get(parent) == "active":
                cycle = stack[stack.index(parent) :]
                if frozenset(cycle) not in seen_cycle_sets:
                    seen_cycle_sets.add(frozenset(cycle))
                    flow = list(reversed(cycle))
                    first = min(range(len(flow)), key=lambda i: order[flow[i]])
                    cycles.append(flow[first:] + flow[:first])
            elif parent not in state:
                visit(parent)
        stack.pop()
        state[key] = "done"

    for key in by_key:
        if key not in state:
            visit(key)
    return cycles


def _option_fits(expected: type, value: Any) -> bool:
    """Whether a JSON value is of the type a handler declares for one of its options.

    JSON true/false arrive as Python bools, and a bool is also an int: only a bool option takes
    them. A float option takes a whole number too, since JSON writes 2.0 as 2.
    """
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def _wrong_option_value(expected: type) -> str:
    """The sentence for a value of the wrong type, in words rather than Python type names."""
    sentences = {
        bool: _("Step “%(key)s”: the option “%(option)s” of the handler “%(handler)s” must be true or false."),
        int: _("Step “%(key)s”: the option “%(option)s” of the handler “%(handler)s” must be a whole number."),
        float: _("Step “%(key)s”: the option “%(option)s” of the handler “%(handler)s” must be a number."),
        str: _("Step “%(key)s”: the option “%(option)s” of the handler “%(handler)s” must be text."),
    }
    return sentences.get(
        expected,
        _("Step “%(key)s”: the option “%(option)s” of the handler “%(handler)s” has a value of the wrong kind."),
    )


def _options_problems(step: RouteStep, raw_options: Any) -> list[str]:
    """What is wrong with the options a step gives its handler, checked against the handler's
    declaration so a typo or a wrong type is refused at publish instead of failing (or being
    silently ignored) when the step runs."""
    name = {"key": step.key}
    if raw_options is None:
        return []
    if step.kind != "automatic":
        if raw_options == {}:
            return []
        return [_("Step “%(key)s”: only an automatic step takes handler options (“options”).") % name]
    if not isinstance(raw_options, Mapping):
        return [_("Step “%(key)s”: “options” must be an object of option names and values.") % name]
    if not step.handler or not registry.is_registered(step.handler):
        return []  # already refused: there is no declaration to check them against
    declared = registry.get(step.handler).options
    found: list[str] = []
    # In name order: stored as jsonb, the options do not keep the order they were written in.
    for option, value in sorted(step.options.items()):
        about = {**name, "handler": step.handler, "option": option}
        if option not in declared and not declared:
            found.append(
                _("Step “%(key)s”: the handler “%(handler)s” takes no options, but “%(option)s” is given.") % about
            )
        elif option not in declared:
            found.append(
                _("Step “%(key)s”: the handler “%(handler)s” has no option “%(option)s”; it accepts %(accepted)s.")
                % {**about, "accepted": ", ".join(f"“{accepted}”" for accepted in sorted(declared))}
            )
        elif not _option_fits(declared[option], value):
            found.append(_wrong_option_value(declared[option]) % about)
    return found


def check_route(
    route_json: Any,
    *,
    element_kinds: Mapping[str, str],
    departments: Iterable[str] | None = None,
    document_types: Iterable[str] | None = None,
    materials: Iterable[str] = (),
) -> list[str]:
    """Every problem of a route, as sentences naming the step. Empty when it can be published.

    `element_kinds` maps the data-element keys on the version's form to their kinds, and
    `materials` are the document-type codes the version asks for (what a step may need).
    `departments` / `document_types` are the existing codes (looked up when not given).
    """
    problems = check_route_steps(
        route_json,
        element_kinds=element_kinds,
        departments=departments,
        document_types=document_types,
        materials=materials,
    )
    # A circle is told next to each of its steps, and once in the list.
    return list(dict.fromkeys(problem.message for problem in problems))


@dataclass(frozen=True)
class RouteProblem:
    """One problem of a route, and the step it is about (None: the route as a whole).

    `position` is the step's place in the route (0 for the first), so the route builder can put
    the message next to the step even when two steps share a key."""

    message: str
    step: str | None = None
    position: int | None = None


def check_route_steps(
    route_json: Any,
    *,
    element_kinds: Mapping[str, str],
    departments: Iterable[str] | None = None,
    document_types: Iterable[str] | None = None,
    materials: Iterable[str] = (),
) -> list[RouteProblem]:
    """`check_route`, with each problem tied to the step that causes it."""
    try:
        steps = parse_route(route_json)
    except RouteError as exc:
        return [RouteProblem(str(exc))]
    if not steps:
        return [RouteProblem(_("The route has no steps: add at least one department step."))]

    if departments is None:
        departments = Department.objects.values_list("code", flat=True)
    if document_types is None:
        document_types = DocumentType.objects.values_list("code", flat=True)
    known_departments = set(departments)
    known_document_types = set(document_types)
    asked_materials = set(materials)

    found: list[RouteProblem] = []
    by_key: dict[str, RouteStep] = {}
    for position, step in enumerate(steps):
        if step.key in by_key:
            found.append(
                RouteProblem(
                    _("Two steps have the key “%(key)s”: each step needs its own key.") % {"key": step.key},
                    step.key,
                    position,
                )
            )
        by_key.setdefault(step.key, step)

    # parse_route keeps only options that are an object; the raw step says what was written.
    for position, (step, raw) in enumerate(zip(steps, _steps_json(route_json), strict=True)):
        name = {"key": step.key}
        problems: list[str] = []
        if step.kind not in KINDS:
            problems.append(
                _("Step “%(key)s”: the kind “%(kind)s” is not one of %(kinds)s.")
                % {**name, "kind": step.kind or "—", "kinds": ", ".join(KINDS)}
            )
        if not step.department:
            problems.append(_("Step “%(key)s” names no department.") % name)
        elif step.department not in known_departments:
            problems.append(
                _("Step “%(key)s”: there is no department with the code “%(department)s”.")
                % {**name, "department": step.department}
            )
        for code in step.transfer_to:
            if code not in known_departments:
                problems.append(
                    _("Step “%(key)s”: “transfer_to” names “%(department)s”, but there is no such department.")
                    % {**name, "department": code}
                )
        if step.transfer_to and step.kind != "review":
            problems.append(_("Step “%(key)s”: only a review step can be transferred (“transfer_to”).") % name)
        for parent in step.after:
            if parent == step.key:
                problems.append(_("Step “%(key)s” waits for itself.") % name)
            elif parent not in by_key:
                problems.append(
                    _("Step “%(key)s” comes after “%(after)s”, but the route has no step with that key.")
                    % {**name, "after": parent}
                )
        if step.kind == "automatic":
            if not step.handler:
                problems.append(_("Step “%(key)s” is automatic but names no handler.") % name)
            elif not registry.is_registered(step.handler):
                problems.append(
                    _("Step “%(key)s”: the handler “%(handler)s” is not registered (no department code runs it).")
                    % {**name, "handler": step.handler}
                )
            elif step.department and registry.get(step.handler).department != step.department:
                problems.append(
                    _(
                        "Step “%(key)s”: the handler “%(handler)s” belongs to department “%(owner)s”, "
                        "not “%(department)s”."
                    )
                    % {
                        **name,
                        "handler": step.handler,
                        "owner": registry.get(step.handler).department,
                        "department": step.department,
                    }
                )
        problems += _options_problems(step, raw.get("options"))
        if step.kind == "issue":
            if not step.document_type:
                problems.append(_("Step “%(key)s” issues a document but names no document type.") % name)
            elif step.document_type not in known_document_types:
                problems.append(
                    _("Step “%(key)s”: there is no document type with the code “%(code)s”.")
                    % {**name, "code": step.document_type}
                )
        if step.sla_days is not None and step.sla_days < 1:
            problems.append(_("Step “%(key)s”: the time limit must be at least one day.") % name)
        if step.on_reject not in ON_REJECT:
            problems.append(_("Step “%(key)s”: “on_reject” must be “stop” or “continue”.") % name)
        for problem in conditions.problems(step.when, element_kinds):
            problems.append(_("Step “%(key)s”: %(problem)s.") % {**name, "problem": problem})
        problems += _needs_problems(step, element_kinds=element_kinds, materials=asked_materials)

        found += [RouteProblem(problem, step.key, position) for problem in problems]

    positions = {step.key: position for position, step in reversed(list(enumerate(steps)))}
    cycles = _find_cycles(by_key)
    in_cycle: set[str] = set()
    for cycle in cycles:
        in_cycle.update(cycle)
        message = _("The route goes round in a circle: %(cycle)s. Remove one of these “after” links.") % {
            "cycle": " → ".join([*cycle, cycle[0]])
        }
        found += [RouteProblem(message, key, positions[key]) for key in cycle]
    if not any(not step.after for step in by_key.values()):
        found.append(RouteProblem(_("No step can start: every step waits for another one.")))
    # A step outside every cycle that still gets no column waits, directly or not, on a cycle.
    depths = step_depths(by_key.values())
    for key, step in by_key.items():
        if key in depths or key in in_cycle:
            continue
        if all(parent in by_key for parent in step.after):
            found.append(
                RouteProblem(
                    _("Step “%(key)s” can never start: it waits for steps that never finish.") % {"key": key},
                    key,
                    positions[key],
                )
            )
    return found


def _needs_problems(step: RouteStep, *, element_kinds: Mapping[str, str], materials: set[str]) -> list[str]:
    """A step may need only what its own service's form asks: a key that is not a question of
    the form, or a document it does not ask for, would show the department nothing (or, after a
    later form change, something the administrator never chose)."""
    if step.needs is None:
        return []
    name = {"key": step.key}
    found = [
        _(
            "Step “%(key)s” needs the data element “%(element)s”, but this version's form does not ask it; "
            "add it to the form or remove it from “needs”."
        )
        % {**name, "element": element}
        for element in sorted(step.needs.elements)
        if element not in element_kinds
    ]
    found += [
        _(
            "Step “%(key)s” needs the document “%(code)s”, but this version does not ask for it as a material; "
            "add it to the materials or remove it from “needs”."
        )
        % {**name, "code": code}
        for code in sorted(step.needs.documents)
        if code not in materials
    ]
    return found


def version_element_kinds(version: "ServiceVersion") -> dict[str, str]:
    """Data-element key → kind for every field on a version's form."""
    return {field.element.key: field.element.kind for field in version.fields.select_related("element")}


def version_materials(version: "ServiceVersion") -> list[str]:
    """The document-type codes a version asks for (what a route step may need)."""
    return list(version.materials.values_list("document_type__code", flat=True))


def route_problems(version: "ServiceVersion") -> list[str]:
    """Publish validation of a version's route (see `check_route`)."""
    return check_route(
        version.route, element_kinds=version_element_kinds(version), materials=version_materials(version)
    )
