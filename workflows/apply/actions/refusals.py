"""Why applying was refused, each with one clear sentence for the applicant (a lib.refusals.Refused)."""

from django.utils.translation import gettext as _

from accounts.assurance import Level
from lib.refusals import Refused
from lib.text import join_names
from services.models import ServiceVersion
from workflows import clock
from workflows.apply.selectors import (
    Missing,
)

APPLICATION_START_TASK = "workflows.application_start"


class ApplyError(Refused):
    """A refusal with one clear sentence for the applicant."""


class ServiceUnavailable(ApplyError):
    """The service (or every service of the life event) has no published version to apply for."""


class NotARepresentative(ApplyError):
    pass


class DraftAlreadySubmitted(ApplyError):
    pass


class DraftIncomplete(ApplyError):
    def __init__(self, missing: list[Missing]) -> None:
        super().__init__(_("Some answers or documents are still missing."))
        self.missing = missing


class IdentityNotVerified(ApplyError):
    """The form asks for identity elements bound to a verified identity the person does not have."""

    status_code = 403


class AssuranceTooLow(ApplyError):
    """The service needs a higher sign-in level than this session has; the draft is kept."""

    status_code = 403

    def __init__(self, needed: Level) -> None:
        super().__init__(
            _(
                "To submit this application you need to sign in at level “%(level)s”. Sign in with national "
                "eID to continue; your draft is kept."
            )
            % {"level": needed.label}
        )
        self.needed = needed


class CalendarNotReady(ApplyError):
    """The statutory deadline would reach a year whose working-day calendar is not published."""

    status_code = 503

    def __init__(self, missing: clock.CalendarMissing) -> None:
        super().__init__(str(missing))
        self.year = missing.year


class DraftStale(ApplyError):
    def __init__(self, versions: list[ServiceVersion]) -> None:
        names = join_names(v.service.name for v in versions)
        super().__init__(
            _(
                "The rules of %(services)s changed since you started this draft. Move it to the current "
                "version to continue; your answers are kept."
            )
            % {"services": names}
        )
        self.versions = versions


class IdempotencyKeyReused(ApplyError):
    pass


class AttachRefused(ApplyError):
    pass
