"""Identity: people, departments, their memberships and roles, organisations, verified data."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
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

    def active_memberships(self) -> tuple[tuple[int, str], ...]:
        """(department id, role) of every role this person holds and is not suspended from, read
        once for this instance. A request loads its user afresh, so a staff page's access check,
        its queue scope and its menus share one query. Writes that must see a role revoked a
        moment ago (the engine's claim) read memberships in their own statement instead."""
        held = self.__dict__.get("_active_memberships")
        if held is None:
            held = self.__dict__["_active_memberships"] = tuple(self.memberships.values_list("department_id", "role"))
        return held

    def nav_roles(self) -> frozenset[str]:
        """The menus this person sees (`active_memberships`, read once per request)."""
        roles: set[str] = {role for _, role in self.active_memberships()} or {"citizen"}
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
    # Sees the department's payments, refunds and reconciliation (payments/); no queue access.
    FINANCE = "finance", _("Finance")


class ActiveMembershipManager(models.Manager["Membership"]):
    """Memberships that grant access: every role suspended in a department is left out."""

    def get_queryset(self) -> models.QuerySet["Membership"]:
        return super().get_queryset().filter(suspended_at__isnull=True)


class Membership(models.Model):
    """A staff member's role in one department. Queue access is filtered through these rows.

    `objects` (the default manager, and so also `user.memberships` and `department.memberships`)
    leaves out suspended rows, so every access check that asks through it honours a suspension
    without having to know about it. Only staff management and the admin site read
    `all_objects`. A join such as `filter(memberships__role=...)` does not go through a manager:
    ask with a sub-select on `Membership.objects` instead (tests/test_membership_lookups.py).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by a department administrator: every role of this person in this department grants
    # nothing until resumed.
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)

    objects = ActiveMembershipManager()
    all_objects = models.Manager()

    class Meta:
        base_manager_name = "all_objects"
        constraints = [models.UniqueConstraint(fields=["user", "department", "role"], name="membership_unique_role")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.department.code}"

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


class Organisation(models.Model):
    """A business or other organisation, with the people who may act for it."""

    name = models.CharField(_("name"), max_length=200)
    registration_number = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    representatives = models.ManyToManyField(User, related_name="organisations", blank=True)
    # From the business register: the resident ID number of its legal representative, who
    # manages its representatives themselves (accounts/organisations.py).
    legal_representative_id_number = models.CharField(
        _("legal representative's resident ID number (business register)"), max_length=18, blank=True, db_index=True
    )
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
        EID = "eid", _("National eID")
        # Read from a department's register: the marriage register, social insurance records,
        # the household register (source_reference names which).
        REGISTER = "register", _("A department's register")

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


class EidIdentity(models.Model):
    """A national eID person (the provider's `iss` and `sub`) linked to an account: their next
    eID sign-in opens this account."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="eid_identities")
    issuer = models.CharField(_("eID provider"), max_length=300)
    subject = models.CharField(_("eID subject"), max_length=255)
    linked_at = models.DateTimeField(_("linked"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="eid_identity_unique_subject")]
        verbose_name = _("linked national eID")
        verbose_name_plural = _("linked national eIDs")

    def __str__(self) -> str:
        return f"{self.user}: {self.subject} @ {self.issuer}"


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


class Session(AbstractBaseSession):
    """A session, with the person signed in on it as a column: the session store reads the
    session and its person in one statement (accounts/session_store.py). The column follows the
    session's data each time the session is saved; the data stays what Django trusts."""

    # No database constraint: a session saved while its person is being deleted must not fail
    # the save (Django's store would retry the insert for ever); such a row joins to no person
    # and reads as signed out. Deleting a person through the ORM deletes their sessions.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, db_index=True, db_constraint=False, related_name="sessions"
    )

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        from accounts.session_store import SessionStore

        return SessionStore


class Invitation(models.Model):
    """A department administrator's invitation to someone (who may have no account yet) to take
    a role in their department. The link's token is kept only as its SHA-256 hash; the link works
    once, until `expires_at`, and not after it is withdrawn."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    email = models.EmailField(_("e-mail address"))
    name = models.CharField(_("name"), max_length=150)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> — {self.get_role_display()} @ {self.department.code}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.withdrawn_at is not None:
            return self.Status.WITHDRAWN
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING


class MembershipChange(models.Model):
    """A change of staff access in a department, by whom: roles given and taken away, access
    suspended and resumed, invitations sent, withdrawn and accepted. Every change is kept."""

    class Action(models.TextChoices):
        GRANTED = "granted", _("Role given")
        REVOKED = "revoked", _("Role taken away")
        SUSPENDED = "suspended", _("Access suspended")
        RESUMED = "resumed", _("Access resumed")
        INVITED = "invited", _("Invited")
        INVITATION_WITHDRAWN = "invitation_withdrawn", _("Invitation withdrawn")
        INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted, role given")

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    # Empty for an invitation not yet accepted: the person may have no account.
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, related_name="membership_changes")
    invitation = models.ForeignKey(Invitation, on_delete=models.SET_NULL, null=True, related_name="changes")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="membership_changes")
    role = models.CharField(max_length=20, choices=Role.choices)
    action = models.CharField(max_length=32, choices=Action.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    @property
    def person_name(self) -> str:
        """Who the change is about: the account, or the person invited before they have one."""
        if self.user is not None:
            return self.user.name
        return self.invitation.name if self.invitation is not None else ""


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
