"""Bench people: citizens with a verified profile and an ID card in their vault, and signed-in
sessions handed to the load generator (created server-side, as a login would; the password
hash is deliberately slow and logging in is not what the bench measures)."""

import secrets
import time

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor.selectors import must_use_second_factor
from accounts.session_store import SessionStore
from bench.loader import resident_id

CITIZEN_PREFIX = "bench.citizen."
BACKEND = "accounts.backends.UsernameOrEmailBackend"


def session_for(user) -> dict[str, str]:
    """A signed-in session for `user`, and a CSRF secret the client sends as cookie and header."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["last_seen"] = store["signed_in_at"] = int(time.time())
    if must_use_second_factor(user=user):
        # Staff pages need a second factor confirmed in the session: recorded the way
        # django_otp.login records it after a right code, with the person's own authenticator.
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="Load authenticator", defaults={"confirmed": True})
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    csrf = "".join(secrets.choice(alphabet) for _ in range(32))
    return {"user_id": str(user.pk), "username": user.username, "sessionid": store.session_key or "", "csrftoken": csrf,
            "id_card": str(id_card_of(user) or "")}  # fmt: skip


def id_card_of(user) -> int | None:
    """The ID card in the citizen's vault (the vault API lists newest first; after hundreds of
    bench leases it is not on the first page)."""
    from documents.models import Document

    return Document.objects.filter(owner=user, document_type__code="id-card").values_list("pk", flat=True).first()


def citizens(count: int) -> list:
    """`count` citizens with a verified identity (name, ID number, phone) and an ID card."""
    from accounts.actions import verified_attribute_set
    from accounts.models import User
    from documents.actions import document_upload
    from documents.models import Document
    from services.models import DocumentType
    from workflows.apply.demo import demo_pdf

    id_card = DocumentType.objects.get(code="id-card")
    people = []
    for index in range(count):
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                username=f"{CITIZEN_PREFIX}{index:03d}",
                defaults={"display_name": f"Bench Citizen {index}", "email": f"citizen{index}@bench.example"},
            )
            if created:
                user.set_unusable_password()
                user.resident_id = resident_id(900_000 + index)
                user.save(update_fields=["password", "resident_id"])
                for key, value in {
                    "person.full_name": user.display_name,
                    "person.id_number": user.resident_id,
                    "person.phone": f"139{index:08d}",
                    "person.email": user.email,
                }.items():
                    verified_attribute_set(user=user, element_key=key, value=value, source="identity")
        if not Document.objects.filter(owner=user, document_type=id_card).exists():
            upload = SimpleUploadedFile(
                "id-card.pdf", demo_pdf("Resident identity card", user.display_name), content_type="application/pdf"
            )
            document_upload(owner=user, document_type=id_card, uploaded_file=upload)
        people.append(user)
    return people
