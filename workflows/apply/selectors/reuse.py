"""What is reused instead of asked again: the verified profile, an organisation's register values,
earlier approved applications, and documents already in the vault."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import Organisation, User, VerifiedAttribute
from documents.models import Document
from documents.selectors import reusable_documents
from lib.compiled import Compiled
from services.elements import resident_id_birth_date, resident_id_sex, validate_value
from services.models import (
    DocumentType,
)
from services.roles import derive
from workflows.apply.selectors.merged_form import FieldSpec, MergedForm
from workflows.models import Application, ApplicationGroup

# How many of the applicant's latest approved applications are looked at for reusable values.
PREVIOUS_APPLICATIONS_LOOKED_AT = 20

# Read for every draft request: compiled once per process (lib/compiled.py). A person has a
# handful of verified attributes, read whole and picked from in Python.
_verified_of = Compiled(lambda user: VerifiedAttribute.objects.filter(user_id=user).only("element_key", "value"))
_approved_of = Compiled(
    lambda user: (
        Application.objects.filter(
            status=Application.Status.APPROVED, applicant_id=user, group__organisation__isnull=True
        )
        .order_by("-decided_at", "-pk")
        .only("number", "data")[:PREVIOUS_APPLICATIONS_LOOKED_AT]
    )
)

# --- Reuse: the verified profile and earlier approved applications ---------------------------


@dataclass(frozen=True)
class Reuse:
    """A value the state already knows: verified (identity) or from an earlier approved application."""

    kind: str  # "verified" | "previous" | "derived"
    value: Any
    reference: str = ""  # the earlier application's number

    @property
    def is_verified(self) -> bool:
        return self.kind == "verified"


def organisation_register_values(organisation: Organisation | None) -> dict[str, Any]:
    """What the business register says about an organisation, by data-element key."""
    return {"business.name": organisation.name} if organisation is not None else {}


def known_values(
    *,
    user: User,
    keys: Iterable[str],
    organisation: Organisation | None = None,
    verified: Mapping[str, Any] | None = None,
) -> dict[str, Reuse]:
    """What the state already knows for these element keys. Verified values win.

    For an application on behalf of an organisation, the register's values about it count as
    verified, and earlier approved applications are the organisation's (whoever made them);
    otherwise they are the person's own. `verified`: what `verified_values` answered for
    these keys, when the caller has it already.
    """
    keys = set(keys)
    if not keys:
        return {}
    if verified is None:
        verified = verified_values(user=user, keys=keys, organisation=organisation)
    known = {key: Reuse("verified", value) for key, value in verified.items() if key in keys}
    if organisation is not None:
        approved = Application.objects.filter(status=Application.Status.APPROVED, group__organisation=organisation)
        earlier = list(approved.order_by("-decided_at", "-pk").only("number", "data")[:PREVIOUS_APPLICATIONS_LOOKED_AT])
    else:
        earlier = _approved_of.run(user=user.pk) if user.pk is not None else []
    for application in earlier:
        for key, value in (application.data or {}).items():
            if key in keys and key not in known and value not in (None, "", []):
                known[key] = Reuse("previous", value, application.number)
    return known


def group_verified_values(group: ApplicationGroup, form: MergedForm) -> dict[str, Any]:
    """`verified_values` for a group's applicant and form, read once per loaded group (saving
    answers compares them, and the response shows them again through `group_known_values`)."""
    memo: dict[str, Any] | None = group.__dict__.get("_verified_values")
    if memo is None:
        memo = group.__dict__["_verified_values"] = verified_values(
            user=group.applicant, keys=form.lookup_keys, organisation=group.organisation
        )
    return memo


def group_known_values(group: ApplicationGroup, form: MergedForm) -> dict[str, Reuse]:
    """`known_values` for a group's applicant and form, read once per loaded group (starting a
    draft reads them to prefill it, and its response shows them again), with what the group's
    answers give (a role's verified values, derived values) as they are now."""
    memo: dict[str, Reuse] | None = group.__dict__.get("_known_values")
    if memo is None:
        memo = group.__dict__["_known_values"] = known_values(
            user=group.applicant,
            keys=form.lookup_keys,
            organisation=group.organisation,
            verified=group.__dict__.get("_verified_values"),
        )
    if not form.roles and not any(spec.derived_from for spec in form.fields):
        return memo
    verified = {key: reuse.value for key, reuse in memo.items() if reuse.is_verified}
    return {**memo, **given_values(form=form, data=group.data, verified=verified)}


def group_known_values_keep(group: ApplicationGroup, known: dict[str, Reuse]) -> None:
    """Keeps `known` (read for all of the group's form keys) as `group_known_values` answers it."""
    group.__dict__["_known_values"] = known


def prefill_values(*, user: User, form: MergedForm, known: Mapping[str, Reuse] | None = None) -> dict[str, Any]:
    """What a new draft starts with: the known values, cleaned as the form would clean them.
    An old value that no longer passes the element's validation is not offered."""
    data: dict[str, Any] = {}
    if known is None:
        known = known_values(user=user, keys=form.lookup_keys)
    for spec in form.fields:
        reuse = known.get(spec.key)
        if reuse is None:
            continue
        try:
            value = validate_value(spec.element, reuse.value)
        except ValidationError:
            continue
        if value is not None:
            data[spec.key] = value
    return data


def given_values(*, form: MergedForm, data: Mapping[str, Any], verified: Mapping[str, Any]) -> dict[str, Reuse]:
    """What the answers already give, so it is never typed (services/roles.py):

    - the elements of a role the applicant holds ("I am the mother": mother.full_name is the
      verified person.full_name; "the father is my spouse": father.* are the verified spouse.*);
    - values worked out from another (a date of birth and sex from a resident ID number, an age
      from a date of birth), once their source is known.

    `verified`: the applicant's verified values (`verified_values` for `form.lookup_keys`). A
    role whose verified value is missing or no longer valid gives nothing (the field is asked).
    """
    given: dict[str, Reuse] = {}
    values = dict(data)
    for spec in form.fields:
        if spec.role is None or not spec.role.holds(data):
            continue
        value = _clean(spec, verified.get(spec.role.source_key(spec.key)))
        if value is not None:
            given[spec.key] = Reuse("verified", value)
            values[spec.key] = value
    for spec in form.fields:
        if spec.derived_from is None or spec.key in given:
            continue
        value = _clean(spec, derive(spec.key, values))
        if value is not None:
            given[spec.key] = Reuse("derived", value)
            values[spec.key] = value
    return given


def _clean(spec: FieldSpec, raw: Any) -> Any:
    if raw in (None, ""):
        return None
    try:
        return validate_value(spec.element, raw)
    except ValidationError:
        return None


ID_NUMBER_KEY = "person.id_number"
DATE_OF_BIRTH_KEY = "person.date_of_birth"
SEX_KEY = "person.sex"


def verified_values(*, user: User, keys: Iterable[str], organisation: Organisation | None = None) -> dict[str, Any]:
    """What the state has verified about the person (and the organisation's register values).
    A date of birth or sex not verified on its own is read from a verified, checksum-valid resident ID."""
    keys = set(keys)
    wanted = keys | ({ID_NUMBER_KEY} if keys & {DATE_OF_BIRTH_KEY, SEX_KEY} else set())
    attributes = _verified_of.run(user=user.pk) if user.pk is not None else []
    found = {a.element_key: a.value for a in attributes if a.element_key in wanted}
    if found.get(ID_NUMBER_KEY):
        resident_id = str(found[ID_NUMBER_KEY])
        if DATE_OF_BIRTH_KEY in keys and DATE_OF_BIRTH_KEY not in found:
            born = resident_id_birth_date(resident_id)
            if born is not None:
                found[DATE_OF_BIRTH_KEY] = born.isoformat()
        if SEX_KEY in keys and SEX_KEY not in found:
            sex = resident_id_sex(resident_id)
            if sex is not None:
                found[SEX_KEY] = sex
    if ID_NUMBER_KEY not in keys:
        found.pop(ID_NUMBER_KEY, None)
    found.update({k: v for k, v in organisation_register_values(organisation).items() if k in keys})
    return found


def reusable_documents_by_type(*, user: User, document_types: Iterable[DocumentType]) -> dict[int, list[Document]]:
    return {dt.pk: list(reusable_documents(user=user, document_type=dt)) for dt in document_types}
