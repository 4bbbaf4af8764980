"""Inviting someone to a department by e-mail, whether or not they have an account yet.

A department administrator (or the portal's administrator) names the person, their address and
the role. The e-mailed link carries a random token; only its SHA-256 hash is stored, so the table
cannot be turned into working links. The link works once, for 7 days, and not after the
invitation is withdrawn. Opening it:
- nobody signed in and no account has the address: the person chooses a log-in name and a
  password; the account is created with the address already confirmed (the link proved it) and
  given the role;
- an account has the address: the person signs in as that account and accepts;
- signed in as an account with another address: refused, nothing granted.
Sending is rate-limited like every e-mail a person can make us send (accounts/limits.py), and
every step is recorded as a `MembershipChange`.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.limits import over_limit
from accounts.models import Department, Invitation, Membership, MembershipChange, Role, User
from accounts.staff import NotManaged, StaffChangeRefused, managed_departments, membership_add, membership_change_record
from lib.refusals import Refused

logger = logging.getLogger("accounts.security")

VALID_FOR = timedelta(days=7)
# Invitations an administrator may send in an hour, and that one address may receive.
SENDS_PER_ACTOR = 30
SENDS_PER_ADDRESS = 3
SEND_WINDOW = 3600


class InvitationGone(Refused):
    """The link was used, withdrawn or has expired: nothing is granted."""

    status_code = 410


class InvitationRefused(Refused):
    status_code = 403


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("accounts:invitation", args=[token])


def _address_key(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()[:32]


@transaction.atomic
def invitation_send(*, actor: User, department: Department, email: str, name: str, role: str) -> Invitation:
    """Stores the invitation and e-mails its link (the only place the token ever exists)."""
    if not managed_departments(actor=actor).filter(pk=department.pk).exists():
        logger.info("invitation refused actor=%s department=%s", actor.pk, department.code)
        raise NotManaged(_("You do not manage the staff of this department."))
    email, name = email.strip(), name.strip()
    if not name:
        raise StaffChangeRefused(_("Enter the person's name."))
    try:
        validate_email(email)
    except ValidationError as error:
        raise StaffChangeRefused(_("Enter an e-mail address in the right format, like name@example.org.")) from error
    if role not in Role.values:
        raise StaffChangeRefused(_("Choose a role."))
    if Membership.all_objects.filter(user__email__iexact=email, department=department, role=role).exists():
        raise StaffChangeRefused(_("The account with this address already has this role here."))
    pending = Invitation.objects.filter(
        department=department,
        email__iexact=email,
        role=role,
        accepted_at__isnull=True,
        withdrawn_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if pending.exists():
        raise StaffChangeRefused(
            _("%(email)s already has an invitation for this role waiting. Withdraw it to send a new one.")
            % {"email": email}
        )
    if over_limit(f"invitation:actor:{actor.pk}", limit=SENDS_PER_ACTOR, window=SEND_WINDOW) or over_limit(
        f"invitation:address:{_address_key(email)}", limit=SENDS_PER_ADDRESS, window=SEND_WINDOW
    ):
        logger.info("invitation limited actor=%s department=%s", actor.pk, department.code)
        raise StaffChangeRefused(_("Too many invitations were sent in the last hour. Try again later."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        department=department,
        role=role,
        email=email,
        name=name,
        invited_by=actor,
        token_hash=token_hash(token),
        expires_at=timezone.now() + VALID_FOR,
    )
    MembershipChange.objects.create(
        actor=actor,
        user=None,
        invitation=invitation,
        department=department,
        role=role,
        action=MembershipChange.Action.INVITED,
    )
    with translation.override(settings.LANGUAGE_CODE):
        send_mail(
            subject=_("You are invited to work in %(department)s on One Door") % {"department": department.name},
            message=_(
                "Hello %(name)s,\n\n%(inviter)s invites you to work in %(department)s on One Door as "
                "%(role)s.\n\nOpen this link within 7 days to accept. It works once:\n\n%(link)s\n\n"
                "If you did not expect this, do nothing: the invitation expires by itself.\n\nOne Door"
            )
            % {
                "name": name,
                "inviter": actor.name,
                "department": department.name,
                "role": invitation.get_role_display(),
                "link": invitation_link(token),
            },
            from_email=None,
            recipient_list=[email],
        )
    logger.info("invitation sent actor=%s department=%s invitation=%s", actor.pk, department.code, invitation.pk)
    return invitation


@transaction.atomic
def invitation_withdraw(*, actor: User, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("department")
        .filter(pk=invitation_id, department__in=managed_departments(actor=actor))
        .first()
    )
    if invitation is None:
        raise NotManaged(_("This invitation is not one of a department you manage."))
    if invitation.status != Invitation.Status.PENDING:
        raise StaffChangeRefused(_("This invitation is no longer waiting: it cannot be withdrawn."))
    invitation.withdrawn_at = timezone.now()
    invitation.save(update_fields=["withdrawn_at"])
    MembershipChange.objects.create(
        actor=actor,
        invitation=invitation,
        department=invitation.department,
        role=invitation.role,
        action=MembershipChange.Action.INVITATION_WITHDRAWN,
    )
    logger.info("invitation withdrawn actor=%s invitation=%s", actor.pk, invitation.pk)
    return invitation


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The pending invitation a link names. Invitation.DoesNotExist for a link that never
    existed; InvitationGone for one used, withdrawn or expired."""
    invitations = Invitation.objects.select_related("department", "invited_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.get(token_hash=token_hash(token))
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        raise InvitationGone(_("This invitation has already been accepted. Sign in to work in the department."))
    if status == Invitation.Status.WITHDRAWN:
        raise InvitationGone(_("This invitation was withdrawn. Ask the department's administrator for a new one."))
    if status == Invitation.Status.EXPIRED:
        raise InvitationGone(
            _("This invitation expired: links work for 7 days. Ask the department's administrator for a new one.")
        )
    return invitation


def account_for(invitation: Invitation) -> User | None:
    return User.objects.filter(email__iexact=invitation.email).first()


def _accept(*, invitation: Invitation, person: User) -> Membership:
    membership, _created = membership_add(person=person, department=invitation.department, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = person
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership_change_record(
        actor=person, membership=membership, action=MembershipChange.Action.INVITATION_ACCEPTED, invitation=invitation
    )
    # The link reached the address: it is the person's.
    if person.email_verified_at is None:
        person.email_verified_at = timezone.now()
        person.save(update_fields=["email_verified_at"])
    logger.info("invitation accepted user=%s invitation=%s", person.pk, invitation.pk)
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """A signed-in account accepts; only the account with the invited address may."""
    invitation = invitation_for_token(token, lock=True)
    if user.email.lower() != invitation.email.lower():
        logger.info("invitation refused for another address user=%s invitation=%s", user.pk, invitation.pk)
        raise InvitationRefused(
            _("This invitation was sent to another e-mail address. Sign out, then sign in as the account that uses it.")
        )
    return _accept(invitation=invitation, person=user)


@transaction.atomic
def invitation_accept_new_account(*, token: str, username: str, password: str) -> User:
    """Creates the invited person's account (the address confirmed) and gives them the role."""
    invitation = invitation_for_token(token, lock=True)
    if account_for(invitation) is not None:
        raise InvitationRefused(_("An account already uses this e-mail address. Sign in as it to accept."))
    person = User(
        username=username.strip(),
        email=invitation.email,
        display_name=invitation.name,
        email_verified_at=timezone.now(),
        is_staff=True,
    )
    person.set_password(password)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as error:  # the name or address was taken since the form was checked
        raise InvitationRefused(_("This log-in name is taken. Choose another.")) from error
    _accept(invitation=invitation, person=person)
    return person


def pending_invitations(*, departments: list[Department]) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            department__in=departments,
            accepted_at__isnull=True,
            withdrawn_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("department", "invited_by")
        .order_by("department__code", "-created_at")
    )
