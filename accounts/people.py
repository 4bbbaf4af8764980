"""Finding a person by what they know and what the state verified: their log-in and their
verified resident ID number. Used wherever one person names another (a mandate, a
representative of an organisation); both must match, so a guessed address finds nobody."""

from django.db.models import Q

from accounts.models import User, VerifiedAttribute

ID_NUMBER_KEY = "person.id_number"


def verified_id_number(user: User) -> str | None:
    """The person's verified resident ID number, or None when their identity is not verified."""
    value = (
        VerifiedAttribute.objects.filter(user=user, element_key=ID_NUMBER_KEY).values_list("value", flat=True).first()
    )
    return str(value).strip().upper() if value not in (None, "") else None


def verified_person_find(*, login: str, resident_id: str) -> User | None:
    """The active person whose e-mail address or log-in name is `login` and whose verified
    resident ID number is `resident_id`; None otherwise."""
    login, resident_id = login.strip(), resident_id.strip().upper()
    if not login or not resident_id:
        return None
    for candidate in User.objects.filter(Q(email__iexact=login) | Q(username=login), is_active=True)[:2]:
        if verified_id_number(candidate) == resident_id:
            return candidate
    return None
