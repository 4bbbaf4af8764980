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
