"""A person asks for their account to be erased.

Erased at once: drafts, vault documents no submitted application uses, notifications, the
downloads of their data, sign-in history and eID links, and the profile data they typed
themselves (name, e-mail address, phone number, language). The account is closed.

Kept, because the law requires it: submitted applications (in progress, or finished and within
their service's retention: the retention sweep removes their answers and documents when it
ends), the documents those applications use, certificates departments issued, and the verified
identity the kept applications belong to. Events and access records are the audit trail and
are never changed. What was erased and what was kept is written as an ErasureRequest.
"""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import EidIdentity, SignIn, User, VerifiedAttribute
from documents.models import Document
from documents.storage import private_storage
from workflows.models import (
    Application,
    ApplicationGroup,
    DataExport,
    ErasureRequest,
    Notification,
    NotificationPreference,
)
from workflows.privacy.retention import document_erase, retention_ends_at


@dataclass
class KeptApplication:
    number: str
    service: str
    status: str
    in_progress: bool
    until: datetime.date | None  # when its answers and documents are removed; None while in progress


@dataclass
class ErasurePlan:
    drafts: int
    documents: int
    notifications: int
    profile: list[str]
    kept: list[KeptApplication] = field(default_factory=list)
    certificates: int = 0

    @property
    def keeps_identity(self) -> bool:
        return bool(self.kept)

    @property
    def in_progress(self) -> list[KeptApplication]:
        return [k for k in self.kept if k.in_progress]


def _erasable_documents(user: User) -> QuerySet[Document]:
    """The person's vault documents no submitted application uses and no department issued."""
    return (
        Document.objects.filter(owner=user, erased_at__isnull=True)
        .exclude(source=Document.Source.ISSUED)
        .exclude(attachments__group__submitted_at__isnull=False)
    )


def erasure_plan(*, user: User) -> ErasurePlan:
    """What an erasure request would erase now, and what it would keep (and until when)."""
    kept = []
    for application in Application.objects.filter(applicant=user).select_related("service").order_by("number"):
        if hasattr(application, "retention_record"):
            continue  # its answers and documents are gone already
        ends = retention_ends_at(application)
        kept.append(
            KeptApplication(
                number=application.number,
                service=str(application.service.name),
                status=application.get_status_display(),
                in_progress=not application.is_finished,
                until=timezone.localdate(ends) if ends else None,
            )
        )
    profile = [
        label
        for label, value in (
            ("name", user.display_name),
            ("email", user.email),
            ("phone", NotificationPreference.objects.filter(user=user).exclude(phone="").exists()),
        )
        if value
    ]
    return ErasurePlan(
        drafts=ApplicationGroup.objects.filter(applicant=user, submitted_at__isnull=True).count(),
        documents=_erasable_documents(user).count(),
        notifications=Notification.objects.filter(user=user).count(),
        profile=profile,
        kept=kept,
        certificates=Document.objects.filter(owner=user, source=Document.Source.ISSUED, erased_at__isnull=True).count(),
    )


def account_erase(*, user: User) -> ErasureRequest:
    """Erases what no law requires keeping, anonymises the account and closes it."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        plan = erasure_plan(user=user)
        drafts = 0
        for group in ApplicationGroup.objects.filter(applicant=user, submitted_at__isnull=True):
            group.delete()
            drafts += 1
        documents = sum(document_erase(document) for document in _erasable_documents(user))
        notifications = Notification.objects.filter(user=user).count()
        Notification.objects.filter(user=user).delete()
        NotificationPreference.objects.filter(user=user).delete()
        stored = [
            str(name) for name in DataExport.objects.filter(user=user).exclude(file="").values_list("file", flat=True)
        ]
        transaction.on_commit(lambda: [private_storage.delete(name) for name in stored])
        DataExport.objects.filter(user=user).delete()
        SignIn.objects.filter(user=user).delete()
        EidIdentity.objects.filter(user=user).delete()
        verified_name = VerifiedAttribute.objects.filter(user=user, element_key="person.full_name").first()
        if plan.keeps_identity:
            # The kept applications are this person's: staff still see who they were.
            user.display_name = str(verified_name.value) if verified_name else ""
        else:
            VerifiedAttribute.objects.filter(user=user).delete()
            user.display_name = ""
            user.resident_id = ""
        user.username = f"erased-{user.pk}"
        user.first_name = user.last_name = ""
        user.email = ""
        user.email_verified_at = None
        user.preferred_language = "en"
        user.set_unusable_password()
        user.is_active = False
        user.session_epoch += 1  # every session of the account ends
        user.save(
            update_fields=[
                "display_name",
                "resident_id",
                "username",
                "first_name",
                "last_name",
                "email",
                "email_verified_at",
                "preferred_language",
                "password",
                "is_active",
                "session_epoch",
            ]
        )
        return ErasureRequest.objects.create(
            user=user,
            erased={
                "drafts": drafts,
                "documents": documents,
                "notifications": notifications,
                "profile": plan.profile,
            },
            kept=[
                {"number": k.number, "until": k.until.isoformat() if k.until else None, "in_progress": k.in_progress}
                for k in plan.kept
            ],
        )
