"""Writes of the identity app. Keyword-only, one transaction each."""

from django.db import transaction

from accounts.models import Department, Membership, Role, User, VerifiedAttribute


@transaction.atomic
def user_register(*, email: str, password: str, display_name: str, preferred_language: str = "en") -> User:
    """A citizen's own registration: the e-mail address is also the log-in name."""
    email = User.objects.normalize_email(email.strip())
    user = User(
        username=email.lower(), email=email, display_name=display_name.strip(), preferred_language=preferred_language
    )
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def membership_grant(*, user: User, department: Department, role: Role | str) -> Membership:
    membership, _ = Membership.all_objects.get_or_create(user=user, department=department, role=role)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@transaction.atomic
def verified_attribute_set(
    *, user: User, element_key: str, value: object, source: str, source_reference: str = ""
) -> VerifiedAttribute:
    attribute, _ = VerifiedAttribute.objects.update_or_create(
        user=user,
        element_key=element_key,
        defaults={"value": value, "source": source, "source_reference": source_reference},
    )
    return attribute


class EmailTaken(Exception):
    """Another account uses this e-mail address."""


@transaction.atomic
def profile_correct(*, user: User, display_name: str, preferred_language: str, email: str) -> list[str]:
    """The person corrects what they typed themselves: their name as shown, language and e-mail
    address for messages. Verified attributes are never changed here. Returns the fields changed;
    a new e-mail address is unconfirmed until its link is followed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    email = User.objects.normalize_email(email.strip()) if email else ""
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise EmailTaken(email)
    changed = []
    for name, value in (
        ("display_name", " ".join(display_name.split())),
        ("preferred_language", preferred_language),
        ("email", email),
    ):
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if "email" in changed:
        user.email_verified_at = None
        changed.append("email_verified_at")
    if changed:
        user.save(update_fields=changed)
    return changed
