"""Department handlers: the code that runs an `automatic` route step (DESIGN §4).

Each handler registers by name in `services.registry`, declares the options a route step may
give it (``{"handler": "tax.register", "options": {"prefix": "TAX"}}``), and is called as

    handler(*, application, work_item, options) -> dict

on the department's own queue (``dept.<code>``). The returned dict is stored on the work
item as its result. A business refusal is not an error: return
``{"decision": "rejected", "reasons": [...]}``. Raising an exception means "try again":
the engine retries with backoff and opens an incident when the retries run out.

Handlers may run more than once for one step (a redelivered or duplicated task), so each
must be idempotent: the second run finds what the first one did.

Adding a handler: write a function here (or in a module named in settings.ENGINE_HANDLER_MODULES),
decorate it with ``@register("<department>.<verb>", department="<department code>", options={...})``.
"""

import importlib
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import VerifiedAttribute
from services.elements import resident_id_is_valid
from services.registry import register
from workflows.models import Application, TaxpayerNumber, WorkItem
from workflows.numbers import sequence_next

logger = logging.getLogger(__name__)


def _normalised_name(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


@register(
    "psb.verify_identity",
    department="psb",
    description="Checks the resident ID number's check character and the applicant's verified name.",
    options={"check_name": bool},
)
def verify_identity(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    data = application.data or {}
    id_number = str(data.get("person.id_number") or "").strip().upper()
    reasons: list[str] = []
    if not id_number:
        reasons.append(_("No resident ID number was given."))
    elif not resident_id_is_valid(id_number):
        reasons.append(
            _("The resident ID number %(number)s is not valid (its check character is wrong).") % {"number": id_number}
        )
    if options.get("check_name", True):
        verified = dict(
            VerifiedAttribute.objects.filter(
                user_id=application.applicant_id, element_key__in=["person.full_name", "person.id_number"]
            ).values_list("element_key", "value")
        )
        form_name = data.get("person.full_name")
        if "person.full_name" not in verified:
            reasons.append(_("The applicant has no verified name on record, so the identity cannot be confirmed."))
        elif _normalised_name(verified["person.full_name"]) != _normalised_name(form_name):
            reasons.append(
                _("The name on the form (%(form)s) is not the applicant's verified name.") % {"form": form_name or "—"}
            )
        verified_id = str(verified.get("person.id_number") or "").strip().upper()
        if id_number and verified_id and verified_id != id_number:
            reasons.append(_("The resident ID number on the form is not the applicant's verified ID number."))
    if reasons:
        return {"decision": "rejected", "reasons": reasons, "checked": ["resident_id", "name"]}
    return {"verified": True, "checked": ["resident_id", "name"]}


def taxpayer_number_assign(
    *, application: Application, prefix: str = "TAX", now: datetime | None = None
) -> TaxpayerNumber:
    """The application's taxpayer number: the existing one, or a new unique one.

    Never two numbers for one application: the row is unique per application, and a second
    concurrent run loses the insert, rolls back its sequence step and reads the winner's row.
    """
    existing = TaxpayerNumber.objects.filter(application=application).first()
    if existing is not None:
        return existing
    year = timezone.localtime(now or timezone.now()).year
    try:
        with transaction.atomic():
            serial = sequence_next(f"TAXPAYER-{year}")
            return TaxpayerNumber.objects.create(application=application, number=f"{prefix}{year}{serial:08d}")
    except IntegrityError:
        return TaxpayerNumber.objects.get(application=application)


@register(
    "tax.register",
    department="tax",
    description="Registers the applicant for tax and assigns one unique taxpayer number per application.",
    options={"prefix": str},
)
def register_taxpayer(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    taxpayer = taxpayer_number_assign(application=application, prefix=str(options.get("prefix") or "TAX"))
    return {"taxpayer_number": taxpayer.number}


def load_extra_handler_modules() -> None:
    """Imports the handler modules a deployment (or a test worker) names in settings."""
    for module in getattr(settings, "ENGINE_HANDLER_MODULES", []):
        if module:
            importlib.import_module(module)
