"""The catalogue: data dictionary, document types, services and their versions, life events."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.assurance import Level
from accounts.models import Department
from lib.text import in_language


def bilingual(field: str) -> property:
    """A read-only attribute giving `<field>_en` or `<field>_zh` in the active language."""
    return property(lambda self: in_language(getattr(self, f"{field}_en"), getattr(self, f"{field}_zh")))


class DataElement(models.Model):
    """One datum of the shared data dictionary (DESIGN §3): asked once, reused everywhere."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Whole number")
        DECIMAL = "decimal", _("Decimal number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes or no")
        CHOICE = "choice", _("Choice")
        EMAIL = "email", _("E-mail address")
        PHONE = "phone", _("Phone number")
        ADDRESS = "address", _("Address")
        RESIDENT_ID = "resident_id", _("Resident ID number")

    class Sensitivity(models.TextChoices):
        PUBLIC = "public", _("Public")
        PERSONAL = "personal", _("Personal")
        SENSITIVE = "sensitive", _("Sensitive")

    key = models.CharField(
        _("key"),
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", _("Use dotted lower-case names."))],
        help_text=_("Stable name departments receive, e.g. person.full_name."),
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200)
    help_en = models.CharField(_("help text (English)"), max_length=500, blank=True)
    help_zh = models.CharField(_("help text (Chinese)"), max_length=500, blank=True)
    min_length = models.PositiveIntegerField(_("minimum length"), null=True, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    min_value = models.DecimalField(_("minimum value"), max_digits=18, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum value"), max_digits=18, decimal_places=4, null=True, blank=True)
    pattern = models.CharField(_("pattern (regular expression)"), max_length=200, blank=True)
    # [{"value": "restaurant", "label_en": "Restaurant", "label_zh": "餐馆"}, ...]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=20, choices=Sensitivity.choices, default=Sensitivity.PERSONAL
    )
    # Identity elements (name, resident ID, date of birth): on every form they come from the
    # applicant's verified identity, never from what is typed (workflows.apply enforces it).
    bound = models.BooleanField(
        _("bound to the verified identity"),
        default=False,
        help_text=_("Always the applicant's verified value; an applicant without one cannot apply."),
    )
    # Whether the state can know this datum at all: the register that holds it (the identity
    # register, social insurance records, the household register...) or empty for a new fact
    # only the applicant can tell (a baby's name, a new shop's floor area). `once_only_report`
    # counts a typed answer to an element held by a register as a failure of "once only".
    held_by = models.CharField(
        _("held by"),
        max_length=200,
        blank=True,
        help_text=_("The register that already holds this datum; empty when only the applicant can tell it."),
    )

    class Meta:
        ordering = ["key"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self) -> str:
        return self.key

    label = bilingual("label")

    help_text = bilingual("help")


class DocumentType(models.Model):
    """A kind of document: what content types it may be, how big, how long it stays valid."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    allowed_content_types = models.JSONField(
        _("allowed content types"), default=list, help_text=_('e.g. ["application/pdf", "image/jpeg"]')
    )
    max_bytes = models.PositiveIntegerField(_("maximum size in bytes"), default=5 * 1024 * 1024)
    # Within the portal's ceilings (PDF_MAX_PAGES, IMAGE_MAX_SIDE); checked before anything is
    # stored and stated on every upload page (documents.validation.limits_text).
    max_pages = models.PositiveIntegerField(_("maximum pages of a PDF"), default=100, validators=[MinValueValidator(1)])
    max_image_side = models.PositiveIntegerField(
        _("maximum width or height of an image, in pixels"), default=8000, validators=[MinValueValidator(16)]
    )
    validity_days = models.PositiveIntegerField(
        _("validity in days"), null=True, blank=True, help_text=_("Empty: valid until withdrawn.")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")

    def __str__(self) -> str:
        return self.name

    name = bilingual("name")


class Category(models.TextChoices):
    BUSINESS = "business", _("Business and trade")
    FAMILY = "family", _("Family and children")
    IDENTITY = "identity", _("Identity and residence")
    TAX = "tax", _("Tax")
    EMPLOYMENT = "employment", _("Work and social insurance")
    HEALTH = "health", _("Health")
    SAFETY = "safety", _("Safety and fire")
    SOCIAL = "social", _("Social assistance")


class Service(models.Model):
    """A service of one lead department. What an application is judged against is a version."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    lead_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="services", verbose_name=_("lead department")
    )
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    summary_zh = models.TextField(_("summary (Chinese)"), blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    life_situations = models.JSONField(_("life-situation tags"), default=list, blank=True)
    online = models.BooleanField(_("available online"), default=True)
    at_counter = models.BooleanField(_("available at the counter"), default=True)
    # How long an application's answers and documents are kept after it finishes (approved,
    # rejected or withdrawn); then the retention sweep (workflows.privacy.retention) removes them.
    retention_days = models.PositiveIntegerField(
        _("retention after the application finishes (days)"),
        default=3650,
        help_text=_("Answers and documents are removed this many days after the application is decided."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    name = bilingual("name")

    summary = bilingual("summary")


class PublishedVersionError(ValidationError):
    """Raised on any attempt to change a published (or retired) version or its parts."""


FROZEN_MESSAGE = _("A published version cannot be changed. Create a new draft from it.")


class ServiceVersionQuerySet(models.QuerySet):
    """Bulk paths refuse to touch a published or retired version (save() and delete() do too).

    Status changes go only through `mark_published` / `mark_retired`, used by services.actions.
    On PostgreSQL and SQLite a database trigger enforces the same rule (migration 0002).
    """

    def _refuse_frozen(self) -> None:
        if self.exclude(status=ServiceVersion.Status.DRAFT).exists():
            raise PublishedVersionError(FROZEN_MESSAGE)

    def update(self, **kwargs):
        if "status" in kwargs:
            raise PublishedVersionError(_("A version is published or retired only through the publish action."))
        self._refuse_frozen()
        return super().update(**kwargs)

    update.queryset_only = True  # type: ignore[attr-defined]

    def delete(self):
        self._refuse_frozen()
        return super().delete()

    delete.queryset_only = True  # type: ignore[attr-defined]

    def mark_published(self, *, at) -> int:
        return super().update(status=ServiceVersion.Status.PUBLISHED, published_at=at)

    def mark_retired(self, *, at) -> int:
        return super().update(status=ServiceVersion.Status.RETIRED, retired_at=at)


class VersionPartQuerySet(models.QuerySet):
    """Bulk paths of form fields, materials and fees refuse rows of a published version."""

    def _refuse_frozen(self, version_ids=None) -> None:
        rows = self if version_ids is None else ServiceVersion.objects.filter(pk__in=version_ids)
        status_path = "status" if version_ids is not None else "version__status"
        if rows.exclude(**{status_path: ServiceVersion.Status.DRAFT}).exists():
            raise PublishedVersionError(FROZEN_MESSAGE)

    def update(self, **kwargs):
        self._refuse_frozen()
        target = kwargs.get("version") or kwargs.get("version_id")
        if target is not None:
            self._refuse_frozen([getattr(target, "pk", target)])
        return super().update(**kwargs)

    update.queryset_only = True  # type: ignore[attr-defined]

    def delete(self):
        self._refuse_frozen()
        return super().delete()

    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        self._refuse_frozen({obj.version_id for obj in objs})
        return super().bulk_create(objs, *args, **kwargs)


class ServiceVersion(models.Model):
    """What applications are judged against. Draft until published; then immutable (DESIGN §4).

    The form, materials and fees are child rows (so the admin can edit them inline); the
    route and eligibility rules are small JSON documents validated on publish.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    time_limit_days = models.PositiveIntegerField(_("statutory time limit (working days)"), default=20)
    # How sure we must be of who applies (accounts/assurance.py): below it, the person is offered
    # a step-up (national eID) and keeps their draft.
    minimum_assurance = models.CharField(
        _("sign-in level needed"),
        max_length=20,
        choices=Level.choices,
        default=Level.LOW,
        help_text=_("Low: any account. Substantial: national eID. High: national eID with a second factor."),
    )
    # [{"when": <condition>, "reason_en": "...", "reason_zh": "..."}]: each rule must hold.
    eligibility = models.JSONField(_("eligibility rules"), default=list, blank=True)
    # {"steps": [{"key", "department", "kind", "after", "when", "sla_days", "handler", "document_type", ...}]}
    route = models.JSONField(_("route"), default=dict, blank=True)
    # Who the person elements of the form are about (services/roles.py):
    # [{"about": "mother", "is": "applicant", "question": "parents.applicant_is_mother"}]:
    # when the applicant answers yes, mother.* are the applicant's verified person.* values.
    roles = models.JSONField(_("roles"), default=list, blank=True)
    # Data elements an approval of this service produces (a business licence's credit code, a
    # birth certificate's baby data): later applications of the same bundle take them as verified.
    produces = models.JSONField(_("produces"), default=list, blank=True)
    # Reasons a clerk may pick when rejecting: [{"code": "...", "label_en": "...", "label_zh": "..."}]
    rejection_reasons = models.JSONField(_("rejection reasons"), default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceVersionQuerySet.as_manager()

    class Meta:
        ordering = ["service", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="service_version_unique_number"),
            models.UniqueConstraint(
                fields=["service"], condition=models.Q(status="published"), name="one_published_version_per_service"
            ),
        ]
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")

    def __str__(self) -> str:
        return f"{self.service.code} v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def save(self, *args, **kwargs) -> None:
        if self.pk and not kwargs.pop("_allow_status_change", False):
            stored = ServiceVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored is not None and stored != self.Status.DRAFT:
                raise PublishedVersionError(_("A published version cannot be changed. Create a new draft from it."))
            if stored == self.Status.DRAFT and self.status != self.Status.DRAFT:
                raise PublishedVersionError(_("A version is published or retired only through the publish action."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = ServiceVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if not self.is_draft or (stored is not None and stored != self.Status.DRAFT):
            raise PublishedVersionError(_("A published version cannot be deleted."))
        return super().delete(*args, **kwargs)


class VersionPart(models.Model):
    """A row that belongs to a version and is frozen with it."""

    version: models.ForeignKey
    version_id: int

    objects = VersionPartQuerySet.as_manager()

    class Meta:
        abstract = True

    def _check_draft(self) -> None:
        status = ServiceVersion.objects.filter(pk=self.version_id).values_list("status", flat=True).first()
        if status is not None and status != ServiceVersion.Status.DRAFT:
            raise PublishedVersionError(_("A published version cannot be changed. Create a new draft from it."))

    def save(self, *args, **kwargs) -> None:
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_draft()
        return super().delete(*args, **kwargs)


class FormField(VersionPart):
    """One field of a version's form: a data element, in a section, maybe conditional."""

    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="fields")
    element = models.ForeignKey(DataElement, on_delete=models.PROTECT, related_name="form_fields")
    section_en = models.CharField(_("section (English)"), max_length=200, default="Details")
    section_zh = models.CharField(_("section (Chinese)"), max_length=200, default="基本信息")
    required = models.BooleanField(_("required"), default=True)
    when = models.JSONField(_("shown when"), null=True, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["version", "element"], name="form_field_unique_element")]
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")

    def __str__(self) -> str:
        return f"{self.element.key}"

    section = bilingual("section")


class MaterialRequirement(VersionPart):
    """A document the applicant must provide (from the vault or a new upload)."""

    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="materials")
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="requirements")
    required = models.BooleanField(_("required"), default=True)
    when = models.JSONField(_("needed when"), null=True, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "document_type"], name="material_unique_document_type")
        ]
        verbose_name = _("required material")
        verbose_name_plural = _("required materials")

    def __str__(self) -> str:
        return self.document_type.code


class Fee(VersionPart):
    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="fees")
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200)
    # Yuan with two places, as administrators write prices; services.fees turns it into whole
    # fen once, and everything that charges or refunds works in fen (integers).
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2)
    # A data element (a number on the form): the fee is the amount times the answer, e.g. per copy.
    per_unit = models.CharField(
        _("per unit of"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("A number field on the form; the amount is charged once per unit. Empty: a fixed fee."),
    )
    # A condition (services/conditions.py): when it holds, this fee is not charged.
    exempt_when = models.JSONField(_("not charged when"), null=True, blank=True)
    refund_on_withdrawal = models.BooleanField(
        _("refunded on withdrawal"), default=True, help_text=_("Paid and then withdrawn: this fee is given back.")
    )
    refund_on_rejection = models.BooleanField(
        _("refunded on rejection"), default=False, help_text=_("Paid and then refused: this fee is given back.")
    )

    class Meta:
        verbose_name = _("fee")
        verbose_name_plural = _("fees")

    def __str__(self) -> str:
        return f"{self.label_en}: {self.amount}"

    label = bilingual("label")


class LifeEvent(models.Model):
    """一件事: an ordered bundle of services applied for with one merged form."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    summary_zh = models.TextField(_("summary (Chinese)"), blank=True)
    services = models.ManyToManyField(Service, through="LifeEventService", related_name="life_events")

    class Meta:
        ordering = ["code"]
        verbose_name = _("life event")
        verbose_name_plural = _("life events")

    def __str__(self) -> str:
        return self.name

    name = bilingual("name")

    summary = bilingual("summary")


class LifeEventService(models.Model):
    life_event = models.ForeignKey(LifeEvent, on_delete=models.CASCADE, related_name="entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["life_event", "service"], name="life_event_service_unique")]


class CatalogueChange(models.Model):
    """Who changed what in the catalogue, and when (append-only; written by actions and the admin)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        DELETED = "deleted", _("Deleted")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")
        DRAFTED = "drafted", _("New draft")
        GRANTED = "granted", _("Permission granted")
        REVOKED = "revoked", _("Permission revoked")

    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    action = models.CharField(_("what"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=300)
    service = models.ForeignKey(
        Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes", verbose_name=_("service")
    )
    # {"field": {"from": old, "to": new}, ...} or free facts of the action
    changes = models.JSONField(_("what changed"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("catalogue change")
        verbose_name_plural = _("catalogue changes")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.object_repr}"


class SearchSynonym(models.Model):
    """A word people search with, and the words the catalogue uses for it (开饭店 → 餐饮, 营业执照).

    Kept in the admin, so that a search that finds nothing can be fixed the day it is noticed.
    """

    term = models.CharField(
        _("people search for"),
        max_length=100,
        unique=True,
        help_text=_(
            "A word or phrase as people type it, in English or Chinese, for example 开饭店 or open a restaurant."
        ),
    )
    meanings = models.CharField(
        _("find what mentions"),
        max_length=500,
        help_text=_("The catalogue's words for it, separated by commas, for example 餐饮, 营业执照."),
    )
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["term"]
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")

    def __str__(self) -> str:
        return f"{self.term} → {self.meanings}"


class OfferRule(models.Model):
    """免申即享: when an application for one service reaches an event (its approval), the person
    is offered other services, prefilled from what that application and their verified profile
    already say, or granted them outright where the law needs no request.

    Kept in the admin (every change is a CatalogueChange). The engine never reads these on a
    transition: a Celery task reacts to the event afterwards (workflows/offers/).
    """

    class Event(models.TextChoices):
        # The value is the engine's event kind (workflows.models.ApplicationEvent.Kind).
        APPLICATION_APPROVED = "application_approved", _("An application for the service is approved")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    trigger_service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("when this service's application")
    )
    trigger_event = models.CharField(
        _("reaches this event"), max_length=40, choices=Event.choices, default=Event.APPLICATION_APPROVED
    )
    days_to_respond = models.PositiveIntegerField(
        _("days the person has to accept"),
        default=30,
        help_text=_("An offer not accepted by then ends; the person can still apply in the usual way."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("proactive offer rule")
        verbose_name_plural = _("proactive offer rules")

    def __str__(self) -> str:
        return self.name

    name = bilingual("name")


class OfferRuleService(models.Model):
    """One service a rule offers, and whether the law lets it be granted without a request."""

    rule = models.ForeignKey(OfferRule, on_delete=models.CASCADE, related_name="entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("offer"))
    grant_without_request = models.BooleanField(
        _("grant without a request"),
        default=False,
        help_text=_(
            "Only where the law allows it: the application is made for the person, who is told and may opt out. "
            "Otherwise the person is offered it and confirms once."
        ),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["rule", "service"], name="offer_rule_service_unique")]
        verbose_name = _("service offered")
        verbose_name_plural = _("services offered")

    def __str__(self) -> str:
        return str(self.service)
