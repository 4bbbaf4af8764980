"""Forms of the workbench: parse and check what a clerk typed; the rules live in actions."""

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from services.models import LifeEvent, Service
from workflows.models import WorkItem
from workflows.workbench.actions import IDENTITY_DOCUMENTS, CounterIdentity
from workflows.workbench.selectors import QueueFilters

STATUS_CHOICES = [
    ("", _("Any status")),
    (WorkItem.Status.OPEN, _("Open")),
    (WorkItem.Status.CLAIMED, _("In progress")),
    (WorkItem.Status.WAITING, _("Waiting for the applicant")),
]


class WorkbenchForm(forms.Form):
    def _choice_field(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def _model_field(self, name: str) -> forms.ModelChoiceField:
        return cast(forms.ModelChoiceField, self.fields[name])


class QueueFilterForm(WorkbenchForm):
    q = forms.CharField(
        label=_("Application number, applicant name or ID number"),
        required=False,
        max_length=100,
        help_text=_("An ID number can be typed in full or as shown, e.g. 110105********002X."),
    )
    service = forms.ChoiceField(label=_("Service"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    due_before = forms.DateField(
        label=_("Due on or before"),
        required=False,
        help_text=_("For example, 2026-03-31."),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date like 2026-03-31.")},
    )

    def __init__(self, *args, services=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._choice_field("service").choices = [("", _("All services"))] + [(s.code, s.name) for s in services]

    def filters(self) -> QueueFilters:
        if not self.is_valid():
            data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        else:
            data = self.cleaned_data
        return QueueFilters(
            q=data.get("q") or "",
            service=data.get("service") or "",
            status=data.get("status") or "",
            due_before=data.get("due_before"),
        )


class DecisionForm(WorkbenchForm):
    DECISIONS = [
        (WorkItem.Decision.APPROVED, _("Approve this step")),
        (WorkItem.Decision.REJECTED, _("Reject the application")),
    ]
    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=DECISIONS,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether to approve or reject.")},
    )
    reasons = forms.MultipleChoiceField(
        label=_("Reasons for the rejection"), required=False, widget=forms.CheckboxSelectMultiple
    )
    other_reason = forms.CharField(
        label=_("Another reason (the applicant will read it)"), required=False, max_length=1000, widget=forms.Textarea
    )
    note = forms.CharField(
        label=_("Internal remark (not shown to the applicant)"), required=False, max_length=2000, widget=forms.Textarea
    )

    def __init__(self, *args, reason_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reason_labels = {str(code): str(label) for code, label in reason_choices}
        self._choice_field("reasons").choices = list(reason_choices)

    def clean(self):
        data = super().clean()
        if (
            data.get("decision") == WorkItem.Decision.REJECTED
            and not data.get("reasons")
            and not (data.get("other_reason") or "").strip()
        ):
            self.add_error("reasons", _("Give at least one reason for the rejection: the applicant will see it."))
        return data

    def reason_texts(self) -> list[str]:
        labels = self._reason_labels
        texts = [str(labels[code]) for code in self.cleaned_data.get("reasons") or []]
        other = (self.cleaned_data.get("other_reason") or "").strip()
        return texts + ([other] if other else [])


class CorrectionForm(WorkbenchForm):
    fields_to_correct = forms.MultipleChoiceField(
        label=_("Answers to correct"), required=False, widget=forms.CheckboxSelectMultiple
    )
    materials = forms.MultipleChoiceField(
        label=_("Documents to provide again"), required=False, widget=forms.CheckboxSelectMultiple
    )
    message = forms.CharField(
        label=_("Message to the applicant"),
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"required": _("Tell the applicant what to correct and why.")},
    )

    def __init__(self, *args, field_choices=(), material_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._choice_field("fields_to_correct").choices = list(field_choices)
        self._choice_field("materials").choices = list(material_choices)

    def clean(self):
        data = super().clean()
        if not data.get("fields_to_correct") and not data.get("materials"):
            self.add_error("fields_to_correct", _("Choose at least one answer or document the applicant must correct."))
        return data


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Add an internal note"),
        max_length=5000,
        widget=forms.Textarea,
        help_text=_("Only staff see notes."),
        error_messages={"required": _("Write the note first.")},
    )


class TransferForm(WorkbenchForm):
    department = forms.ModelChoiceField(
        label=_("Transfer to"),
        queryset=Department.objects.none(),
        empty_label=_("Choose a department"),
        error_messages={"required": _("Choose the department the step goes to.")},
    )
    reason = forms.CharField(
        label=_("Why it goes there"),
        max_length=1000,
        widget=forms.Textarea,
        error_messages={"required": _("Say why the step goes to another department.")},
    )

    def __init__(self, *args, departments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if departments is not None:
            self._model_field("department").queryset = departments


class AssignForm(WorkbenchForm):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=User.objects.none(),
        empty_label=_("Choose a colleague"),
        error_messages={"required": _("Choose who takes the step.")},
    )

    def __init__(self, *args, colleagues=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if colleagues is not None:
            self._model_field("assignee").queryset = colleagues


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking the certificate"),
        max_length=500,
        error_messages={"required": _("Give the reason for revoking this certificate.")},
    )


class IncidentForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


def resident_id_field(*, label: Any, required: Any) -> forms.CharField:
    """An 18-character resident ID number typed at the counter (its checksum is checked later)."""
    return forms.CharField(
        label=label,
        max_length=18,
        min_length=18,
        error_messages={"required": required, "min_length": _("A resident ID number has 18 characters.")},
    )


class CounterIdentifyForm(forms.Form):
    """Who is at the counter, what they apply for (one service or a life event), and their consent.

    One drop-down offers both, in two groups; a choice is `service:<code>` or `life-event:<code>`
    because a service and a life event may share a code.
    """

    resident_id = resident_id_field(
        label=_("Resident ID number of the person at the counter"), required=_("Enter the person's resident ID number.")
    )
    organisation = forms.CharField(
        label=_("Unified social credit code of the organisation (if they apply for one)"),
        help_text=_("Leave empty when the person applies for themselves. They must represent the organisation."),
        required=False,
        max_length=18,
        min_length=18,
        error_messages={"min_length": _("A unified social credit code has 18 characters.")},
    )
    applies_for = forms.ChoiceField(
        label=_("Service or life event"),
        help_text=_("A life event files every service it needs with one form."),
        error_messages={
            "required": _("Choose the service or life event the person applies for."),
            "invalid_choice": _("Choose a service or life event from the list."),
        },
    )
    identity_document = forms.ChoiceField(
        label=_("Identity document shown"),
        choices=[("", _("Choose the document")), *IDENTITY_DOCUMENTS],
        error_messages={
            "required": _("Choose the identity document the person showed."),
            "invalid_choice": _("Choose an identity document from the list."),
        },
    )
    identity_document_number = forms.CharField(
        label=_("Number of the identity document"),
        max_length=40,
        error_messages={"required": _("Enter the number of the identity document.")},
    )
    identity_checked = forms.BooleanField(
        label=_("I have checked the identity document in person, and the person is the one in its photo"),
        required=False,
    )
    full_name = forms.CharField(
        label=_("Full name, as on the identity document (for a person with no account)"),
        help_text=_("Needed only when no account has this resident ID: the person's record is created from it."),
        required=False,
        max_length=100,
    )
    phone = forms.RegexField(
        label=_("Mobile phone number for text messages (optional)"),
        help_text=_("For a person with no account: we text them the reference and each step of the application."),
        regex=r"^\+?[0-9 ]{6,20}$",
        required=False,
        max_length=20,
        error_messages={"invalid": _("Enter a phone number of digits only, like 13800138000.")},
    )
    consent = forms.BooleanField(
        label=_("The person has agreed that I file this application for them"),
        error_messages={"required": _("Record the person's consent before filing for them.")},
    )

    def __init__(
        self, *args, services: Iterable[Service] = (), life_events: Iterable[LifeEvent] = (), **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.services = {f"service:{service.code}": service for service in services}
        self.life_events = {f"life-event:{event.code}": event for event in life_events}
        groups = [
            (str(_("Services")), [(value, str(service.name)) for value, service in self.services.items()]),
            (str(_("Life events")), [(value, str(event.name)) for value, event in self.life_events.items()]),
        ]
        # What the drop-down shows: a group only when it has something to choose.
        self.option_groups = [(label, options) for label, options in groups if options]
        self.fields["applies_for"].choices = [("", _("Choose a service or life event")), *self.option_groups]  # type: ignore[attr-defined]

    def clean_resident_id(self) -> str:
        return self.cleaned_data["resident_id"].strip().upper()

    def clean_organisation(self) -> str:
        return self.cleaned_data["organisation"].strip().upper()

    def clean_identity_document_number(self) -> str:
        return self.cleaned_data["identity_document_number"].strip().upper()

    def clean_phone(self) -> str:
        return "".join(self.cleaned_data["phone"].split())

    def identity(self) -> CounterIdentity:
        return CounterIdentity(
            document=self.cleaned_data["identity_document"],
            number=self.cleaned_data["identity_document_number"],
            checked_in_person=self.cleaned_data["identity_checked"],
        )

    def chosen(self) -> tuple[Service | None, LifeEvent | None]:
        """(service, None) or (None, life event): what the valid form chose."""
        value = self.cleaned_data["applies_for"]
        return self.services.get(value), self.life_events.get(value)


class CounterIdentityCheckForm(forms.Form):
    """A counter clerk checks a person's identity card in person and records it on their account."""

    person = forms.CharField(
        label=_("The person's log-in name or e-mail address"),
        max_length=254,
        error_messages={"required": _("Enter the log-in name or e-mail address of the person's account.")},
    )
    full_name = forms.CharField(
        label=_("Full name, as on the identity card"),
        max_length=100,
        error_messages={"required": _("Enter the full name as it is on the identity card.")},
    )
    resident_id = resident_id_field(
        label=_("Resident ID number, as on the identity card"),
        required=_("Enter the resident ID number on the identity card."),
    )
    card_seen = forms.BooleanField(
        label=_("I have seen the person's identity card, and the person is the one in its photo"),
        error_messages={"required": _("Check the identity card in person before you record it.")},
    )
