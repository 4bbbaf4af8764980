"""The demo departments and accounts (DESIGN §10). Used by seed_demo and by tests."""

from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions import membership_grant, verified_attribute_set
from accounts.models import Department, Organisation, Role, User, VerifiedAttribute

DEMO_PASSWORD = "onedoor-demo-2026"
# Alice represents a small business: she can apply for it as well as for herself.
ALICE_ORGANISATION = ("91110105MA01NH2026", "Noodle House Catering Co., Ltd.")

DEPARTMENTS = [
    # code, short code, English, Chinese
    ("psb", "PSB", "Public Security Bureau (household registration)", "公安局（户籍管理）"),
    ("market", "MKT", "Market Regulation Administration", "市场监督管理局"),
    ("tax", "TAX", "Taxation Bureau", "税务局"),
    ("hrss", "HRS", "Human Resources and Social Security Bureau", "人力资源和社会保障局"),
    ("health", "HLT", "Health Commission", "卫生健康委员会"),
    ("fire", "FIR", "Fire and Rescue Department", "消防救援支队"),
    ("civil", "CIV", "Civil Affairs Bureau", "民政局"),
]

# Alice's verified identity: what the state already knows, so she is never asked again.
ALICE_VERIFIED = {
    "person.full_name": "Alice Wang",
    "person.id_number": "11010519491231002X",
    "person.phone": "13800138000",
    "person.email": "alice@example.org",
    "person.address": "1 Renmin Road, Dongcheng District, Beijing",
}

# What departments' registers hold about Alice (read, not typed): she is married to Li Ming
# (the marriage register), insured in employment (social insurance records) and her household
# registration is in this city (the household register). Element key → (value, register).
ALICE_REGISTERS: dict[str, tuple[object, str]] = {
    "spouse.full_name": ("Li Ming", "civil:marriage-register"),
    "spouse.id_number": ("110105194803150012", "civil:marriage-register"),
    "person.employed": (True, "hrss:social-insurance"),
    "person.social_insurance_months": (60, "hrss:social-insurance"),
    "household.is_local": (True, "psb:household-register"),
}


@transaction.atomic
def seed_departments() -> list[Department]:
    departments = []
    for code, short, name_en, name_zh in DEPARTMENTS:
        department, _ = Department.objects.update_or_create(
            code=code, defaults={"short_code": short, "name_en": name_en, "name_zh": name_zh}
        )
        departments.append(department)
    return departments


def _user(username: str, display_name: str, email: str, **flags: bool) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        # The demo people's addresses count as confirmed (nobody can open their mail).
        defaults={"display_name": display_name, "email": email, "email_verified_at": timezone.now(), **flags},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


DEMO_AUTHENTICATOR = "Demo authenticator"


def demo_authenticator(user: User) -> TOTPDevice:
    """The demo staff's authenticator app (staff confirm a second factor before any page with
    personal data); `manage.py demo_code <log-in>` shows its current code."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, name=DEMO_AUTHENTICATOR, defaults={"confirmed": True})
    return device


def demo_authenticator_code(device: TOTPDevice) -> str:
    """The code the demo authenticator accepts next (after one was used in this 30-second step,
    the next step's, which the device's one-step tolerance accepts)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():0{device.digits}d}"


@transaction.atomic
def seed_accounts() -> list[tuple[str, str]]:
    """Creates the demo people; returns (log-in name, what they are) for the welcome text."""
    accounts: list[tuple[str, str]] = []
    alice = _user("alice", "Alice Wang", "alice@example.org")
    if alice.resident_id != ALICE_VERIFIED["person.id_number"]:
        alice.resident_id = ALICE_VERIFIED["person.id_number"]
        alice.save(update_fields=["resident_id"])
    for key, value in ALICE_VERIFIED.items():
        if not VerifiedAttribute.objects.filter(user=alice, element_key=key, value=value).exists():
            verified_attribute_set(user=alice, element_key=key, value=value, source="identity")
    for key, (fact, register) in ALICE_REGISTERS.items():
        if not VerifiedAttribute.objects.filter(user=alice, element_key=key, value=fact).exists():
            verified_attribute_set(
                user=alice, element_key=key, value=fact, source="register", source_reference=register
            )
    organisation, _ = Organisation.objects.get_or_create(
        registration_number=ALICE_ORGANISATION[0], defaults={"name": ALICE_ORGANISATION[1]}
    )
    organisation.representatives.add(alice)
    accounts.append(("alice", f"citizen (verified profile), represents {organisation.name}"))
    _user("bob", "Bob Li", "bob@example.org")
    accounts.append(("bob", "citizen"))
    for department in Department.objects.all():
        clerk = _user(f"clerk.{department.code}", f"Clerk ({department.name_en})", "")
        membership_grant(user=clerk, department=department, role=Role.CLERK)
        accounts.append((clerk.username, f"clerk, {department.code}"))
        supervisor = _user(f"supervisor.{department.code}", f"Supervisor ({department.name_en})", "")
        membership_grant(user=supervisor, department=department, role=Role.SUPERVISOR)
        accounts.append((supervisor.username, f"supervisor, {department.code}"))
    counter = _user("counter", "Counter clerk", "")
    for department in Department.objects.all():
        membership_grant(user=counter, department=department, role=Role.COUNTER_CLERK)
    accounts.append(("counter", "counter clerk, all departments"))
    _user("admin", "Administrator", "admin@example.org", is_staff=True, is_superuser=True)
    accounts.append(("admin", "administrator"))
    for username, _role in accounts:
        if username not in ("alice", "bob"):
            demo_authenticator(User.objects.get(username=username))
    return accounts
