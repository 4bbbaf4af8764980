"""One seeded world for the hardening tests: the demo catalogue, the standard actors and one of
each object a URL can name (Alice's draft, submitted and decided applications, documents, a
notification, a certificate, an incident, a rating follow-up).

Built once per test module inside an outer transaction (`world_in_transaction`) that is rolled
back at the end, so the fuzzing and matrix tests leave the shared test database as they found it.
"""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.session_store import SessionStore
from accounts.tests.factories import MembershipFactory, UserFactory
from tests.support.second_factor import session_confirm

# The raw token of the seeded invitation's link (only its hash is stored).
INVITATION_TOKEN = "seeded-invitation-token"

# `delegate`: Carol, to whom Alice gave a mandate (prepare only, the business licence only); her
# session acts for Alice.
ACTORS = ("anonymous", "alice", "bob", "clerk_a", "clerk_b", "supervisor", "administrator", "delegate")

# A market review whose approval issues a certificate into the applicant's vault.
REVIEW_AND_ISSUE = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Licence"},
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "document_type": "food-business-licence",
            "after": ["licence"],
            "label_en": "Issue the licence",
        },
    ]
}


@dataclass
class World:
    users: dict[str, User | None]
    ids: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> object:
        return self.ids[name]


def _actors() -> dict[str, User | None]:
    from accounts.demo import seed_departments

    departments = {d.code: d for d in seed_departments()}
    users: dict[str, User | None] = {
        "anonymous": None,
        "alice": UserFactory(username="alice", display_name="Alice Wang", email="alice@example.org"),
        "bob": UserFactory(username="bob", display_name="Bob Li", email="bob@example.org"),
        "administrator": UserFactory(username="admin", display_name="Administrator", is_staff=True, is_superuser=True),
        "delegate": UserFactory(username="carol", display_name="Carol Wang", email="carol@example.org"),
    }
    for name, username, department, role in (
        ("clerk_a", "clerk.a", "market", Role.CLERK),
        ("clerk_b", "clerk.b", "fire", Role.CLERK),
        ("supervisor", "supervisor.a", "market", Role.SUPERVISOR),
    ):
        user = UserFactory(username=username, display_name=username.title(), is_staff=True)
        MembershipFactory(user=user, department=departments[department], role=role)
        users[name] = user
    return users


def build_world() -> World:
    """Seeds everything; call inside a transaction that the caller rolls back."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.invitations import token_hash
    from accounts.models import Department, Invitation, Organisation
    from documents.models import Certificate, Document
    from portal.demo import seed_demo
    from services.models import Service
    from workflows.apply import actions as apply_actions
    from workflows.engine.actions import work_item_claim, work_item_decide
    from workflows.engine.automatic import automatic_step_run
    from workflows.models import DataAccessRecord, Incident, Notification, RatingFollowUp, TransferRequest, WorkItem
    from workflows.notifications.notify import notify
    from workflows.progress.actions import rating_submit
    from workflows.tests.test_workbench_support import attach_lease, routed_application, step, version_with
    from workflows.transparency.sequencer import log_integrate

    users = _actors()
    seed_demo()
    alice, clerk_a = users["alice"], users["clerk_a"]
    assert alice is not None and clerk_a is not None

    draft = apply_actions.draft_start(applicant=alice, service=Service.objects.get(code="business-licence"))

    # Submitted and routed: a market review open in clerk A's queue, with a lease attached.
    submitted = routed_application(applicant=alice, version=version_with())
    item = step(submitted)
    lease = attach_lease(submitted)
    incident = Incident.objects.create(work_item=item, department=item.department, error="handler down")
    transfer_request = TransferRequest.objects.create(
        work_item=item, to_department=Department.objects.get(code="fire"), reason="Fire matter", requested_by=clerk_a
    )

    # Decided: approved by clerk A, the certificate issued into Alice's vault, rated poorly.
    decided = routed_application(applicant=alice, version=version_with(REVIEW_AND_ISSUE))
    decided_item = step(decided)
    work_item_claim(work_item_id=decided_item.pk, clerk=clerk_a)
    work_item_decide(work_item_id=decided_item.pk, actor=clerk_a, decision=WorkItem.Decision.APPROVED)
    automatic_step_run(work_item_id=step(decided, "issue").pk)
    decided.refresh_from_db()
    certificate = Certificate.objects.filter(document__owner=alice).first()
    rating = rating_submit(applicant=alice, application=decided, score=1, comment="Slow", step_key="licence")
    follow_up = RatingFollowUp.objects.filter(rating=rating).first()

    notification = notify(user=alice, event=Notification.Event.RECEIPT, context={}, application=submitted)
    documents = list(Document.objects.filter(owner=alice).order_by("pk").values_list("pk", flat=True))
    alice_lease = Document.objects.filter(owner=alice, document_type__code="lease-agreement").first()
    # Alice protects her account with an authenticator app (a citizen's choice).
    alice_app = TOTPDevice.objects.create(user=alice, name="Alice's phone", confirmed=True)

    # Clerk A looked at Alice's application; the look is in the transparency log.
    access_record = DataAccessRecord.objects.create(
        accessor=clerk_a, department=item.department, applicant=alice, application=submitted, work_item=item,
        what=DataAccessRecord.What.VIEW_APPLICATION,
    )  # fmt: skip
    log_integrate()

    # Alice's data, downloaded: a ready export only she can fetch.
    from workflows.privacy.export import data_export_build, data_export_request

    export = data_export_request(user=alice)
    data_export_build(export_id=export.pk)

    # Alice gives Carol a mandate for the business licence (prepare only); Carol accepted it.
    mandate = _mandate(alice, users["delegate"])
    # Alice is the legal representative of a tea house in the business register; Carol represents it.
    tea_house = Organisation.objects.create(
        name="Wang Family Tea House", registration_number="91110105MA01TEA001",
        legal_representative_id_number="11010519491231002X",
    )  # fmt: skip
    tea_house.representatives.add(users["delegate"])

    appointment_ids = _appointment(alice)

    # Alice paid a fee to Market Regulation for her submitted application (payments/).
    from payments.models import Payment

    payment = Payment.objects.create(
        reference="PAY-WORLD0000000000001", application=submitted, work_item=item, department=item.department,
        payer=alice, amount_fen=12050, description="Business licence fee", provider="simulator",
        provider_id="sim_world", idempotency_key="world", state=Payment.State.SUCCESS,
        expires_at=timezone.now() + timedelta(minutes=90), paid_at=timezone.now(),
    )  # fmt: skip

    offer = _offer(alice, decided)

    ids: dict[str, object] = {
        **appointment_ids,
        "offer": offer.pk,
        "payment": payment.reference,
        "mandate": mandate.pk,
        "tea_house": tea_house.pk,
        "delegate_user": users["delegate"].pk,
        "service": "business-licence",
        "life_event": "open-a-restaurant",
        "data_element": "person.full_name",
        "draft": draft.pk,
        "submitted_group": submitted.group_id,
        "submitted": submitted.number,
        "submitted_item": item.pk,
        "lease": lease.pk,
        "incident": incident.pk,
        "transfer_request": transfer_request.pk,
        "decided": decided.number,
        "decided_group": decided.group_id,
        "decided_item": decided_item.pk,
        "certificate": certificate.pk if certificate else None,
        "verification_code": certificate.verification_code if certificate else "NOPE",
        "follow_up": follow_up.pk if follow_up else None,
        "notification": notification.pk,
        "document": documents[0],
        "documents": documents,
        "alice_lease": alice_lease.pk if alice_lease else None,
        "bundle": submitted.group.number,
        "alice_app": alice_app.pk,
        "access_record": access_record.pk,
        "alice_export": export.pk,
    }
    # A pending invitation to Market Regulation for someone without an account.
    invitation = Invitation.objects.create(
        department=Department.objects.get(code="market"),
        role=Role.CLERK,
        email="invited@example.org",
        name="Invited Person",
        invited_by=users["administrator"],
        token_hash=token_hash(INVITATION_TOKEN),
        expires_at=timezone.now() + timedelta(days=7),
    )
    ids.update({"clerk_a_user": clerk_a.pk, "invitation": invitation.pk, "invitation_token": INVITATION_TOKEN})
    return World(users=users, ids=ids)


def _offer(alice: User, decided):
    """A proactive offer to Alice, made when her decided application was approved: the childcare
    allowance, open for a month."""
    from services.models import OfferRule, OfferRuleService, Service
    from workflows.models import ApplicationEvent, Offer

    rule = OfferRule.objects.create(
        code="world-offer", name_en="World offer", name_zh="测试推送", trigger_service=decided.service
    )
    allowance = Service.objects.get(code="childbirth-allowance")
    OfferRuleService.objects.create(rule=rule, service=allowance)
    approved = ApplicationEvent.objects.filter(
        application=decided, kind=ApplicationEvent.Kind.APPLICATION_APPROVED
    ).first()
    return Offer.objects.create(
        person=alice,
        rule=rule,
        service=allowance,
        version=allowance.versions.filter(status="published").first(),
        trigger_event=approved,
        trigger_application=decided,
        status=Offer.Status.OFFERED,
        data={"person.phone": "13800138000", "baby.name": "Xiaoming Zhang", "baby.date_of_birth": "2026-01-02"},
        respond_by=timezone.localdate() + timedelta(days=30),
    )


def _appointment(alice: User) -> dict[str, object]:
    """Alice's application waiting at an inspection step, booked at the market hall (open every
    weekday), and the signed link of that booking."""
    from datetime import time as clock_time

    from appointments.actions import appointment_book
    from appointments.links import manage_token
    from appointments.models import Offering, OpeningHours, Place
    from appointments.slots import free_page
    from workflows.tests.test_workbench_support import routed_application, step, version_with

    route = {"steps": [{"key": "inspection", "department": "market", "kind": "appointment"}]}
    application = routed_application(applicant=alice, version=version_with(route))
    item = step(application, "inspection")
    hall = Place.objects.create(department=item.department, code="market-hall", name_en="Market hall")
    OpeningHours.objects.bulk_create(
        [OpeningHours(place=hall, weekday=day, opens=clock_time(9), closes=clock_time(17)) for day in range(7)]
    )
    offering = Offering.objects.create(place=hall, service=application.service, slot_minutes=30, capacity=5)
    # The first free time from tomorrow on: a walk of the matrix takes many minutes, and a booking
    # that began during it would turn its links into "has come or passed" (410).
    tomorrow = timezone.localdate() + timedelta(days=1)
    first = free_page(offering, start=tomorrow).days[0].times[0]
    appointment = appointment_book(person=alice, offering=offering, starts_at=first.starts_at, work_item=item)
    return {
        "appointment_item": item.pk,
        "appointment": appointment.pk,
        "appointment_token": manage_token(appointment.pk),
    }


def _mandate(principal: User, delegate: User | None):
    from accounts.models import VerifiedAttribute
    from services.models import Service
    from workflows.delegation.actions import mandate_accept, mandate_grant

    assert delegate is not None
    for user, resident_id in ((principal, "11010519491231002X"), (delegate, "110105197001010011")):
        VerifiedAttribute.objects.update_or_create(
            user=user, element_key="person.id_number", defaults={"value": resident_id, "source": "counter"}
        )
    today = timezone.localdate()
    mandate = mandate_grant(
        principal=principal,
        delegate_login=delegate.username,
        delegate_resident_id="110105197001010011",
        valid_from=today,
        valid_until=today + timedelta(days=30),
        may_submit=False,
        services=[Service.objects.get(code="business-licence")],
    )
    return mandate_accept(delegate=delegate, mandate_id=mandate.pk)


@contextmanager
def world_in_transaction(django_db_blocker) -> Iterator[World]:
    """Builds the world in an outer atomic block and rolls everything back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        yield world
        transaction.set_rollback(True)


@contextmanager
def requests_keep_the_connection() -> Iterator[None]:
    """Calling the WSGI application directly fires request_started and request_finished, whose
    close_old_connections would close the test's connection (and with it the open transaction);
    Django's test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class Credentials:
    sessionid: str
    csrftoken: str

    @property
    def cookies(self) -> dict[str, str]:
        return {"sessionid": self.sessionid, "csrftoken": self.csrftoken}

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.csrftoken}


def signed_in(user: User, **session_values: object) -> Credentials:
    """A server-side session for `user`, as a login leaves it (plus `session_values`), and a CSRF
    secret sent as both cookie and header (what a browser or API client does)."""
    store = SessionStore()
    store.update(session_values)
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["last_seen"] = store["signed_in_at"] = int(time.time())
    # Staff confirmed a second factor, as the staff gate requires (tests/support/second_factor.py).
    session_confirm(store, user)
    store.create()
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    csrf = "".join(secrets.choice(alphabet) for _ in range(32))
    return Credentials(sessionid=store.session_key or "", csrftoken=csrf)
