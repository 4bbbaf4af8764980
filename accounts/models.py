"""Identity: people, departments, their memberships and roles, organisations, verified data."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from lib.text import in_language


class User(AbstractUser):
    """A person who signs in: citizen, business representative or staff member."""

    email = models.EmailField(_("e-mail address"), blank=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    resident_id = models.CharField(_("resident ID number"), max_length=18, blank=True, db_index=True)
    # When the person followed the link sent to `email` (None: not confirmed, or changed since).
    email_verified_at = models.DateTimeField(_("e-mail address confirmed"), null=True, blank=True)
    # Raised by "sign out everywhere else": part of every session's check, like the password.
    session_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="user_email_unique_ci")
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def name(self) -> str:
        return str(self)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django checks this hash on every request: a session made before the password changed,
        # or before the person signed out everywhere else, no longer matches and is ended.
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def nav_roles(self) -> frozenset[str]:
        """The menus this person sees; memberships are cached per request on the instance."""
        if not hasattr(self, "_membership_roles"):
            self._membership_roles = set(self.memberships.values_list("role", flat=True))
        roles: set[str] = set(self._membership_roles) or {"citizen"}
        if self.is_staff:
            roles.add("staff")
        if self.is_superuser:
            roles.add("administrator")
        return frozenset(roles)


class Department(models.Model):
    """A government department; its code names its Celery queue (``dept.<code>``)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    short_code = models.CharField(
        _("application number code"), max_length=6, help_text=_("Used in application numbers, e.g. MKT.")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_zh)

    @property
    def queue(self) -> str:
        return f"dept.{self.code}"


class Role(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    COUNTER_CLERK = "counter_clerk", _("Counter clerk")
    SUPERVISOR = "supervisor", _("Supervisor")
    DEPARTMENT_ADMIN = "department_admin", _("Department administrator")


class Membership(models.Model):
    """A staff member's role in one department. Queue access is filtered through these rows."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department", "role"], name="membership_unique_role")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.department.code}"


class Organisation(models.Model):
    """A business or other organisation, with the people who may act for it."""

    name = models.CharField(_("name"), max_length=200)
    registration_number = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    representatives = models.ManyToManyField(User, related_name="organisations", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class VerifiedAttribute(models.Model):
    """A value the state has verified about a person, keyed by data-element key.

    Filled by identity verification or by approved applications; it prefills forms so the
    applicant is never asked again.
    """

    class Source(models.TextChoices):
        IDENTITY = "identity", _("Identity verification")
        APPLICATION = "application", _("Approved application")
        COUNTER = "counter", _("Identity card checked at a counter")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verified_attributes")
    element_key = models.CharField(_("data element"), max_length=100)
    value = models.JSONField(_("value"))
    source = models.CharField(max_length=20, choices=Source.choices)
    source_reference = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "element_key"], name="verified_attribute_unique")]
        verbose_name = _("verified attribute")
        verbose_name_plural = _("verified attributes")

    def __str__(self) -> str:
        return f"{self.user}: {self.element_key}"


class SignIn(models.Model):
    """One sign-in of a person (a device), shown on My account until the session can no longer
    be alive. The session key itself is never stored: only its hash, to tell "this device"."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    session_key_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class MembershipChange(models.Model):
    """A role granted or revoked in a department, by whom: every change of staff access is kept."""

    class Action(models.TextChoices):
        GRANTED = "granted", _("Role given")
        REVOKED = "revoked", _("Role taken away")

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="membership_changes")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="membership_changes")
    role = models.CharField(max_length=20, choices=Role.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class SecondFactorChange(models.Model):
    """A second factor added or removed, or recovery codes made: the person sees these on their
    security page, so a factor added by someone who got hold of the password does not go unseen."""

    class Kind(models.TextChoices):
        APP = "app", _("Authenticator app")
        PASSKEY = "passkey", _("Passkey")
        RECOVERY_CODES = "recovery_codes", _("Recovery codes")

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="second_factor_changes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
