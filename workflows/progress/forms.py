"""Forms of the progress pages: they parse and validate input; actions do the writing."""

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from documents.models import Document
from documents.validation import limits_text
from lib.text import in_language
from services.elements import validate_value
from services.models import DataElement, DocumentType

SCORE_CHOICES = [
    (5, _("5 — Very good")),
    (4, _("4 — Good")),
    (3, _("3 — Acceptable")),
    (2, _("2 — Poor")),
    (1, _("1 — Very poor")),
]


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How was the service?"),
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What went well, or what should be better. A rating of 1 or 2 is followed up."),
    )


class NotificationPreferenceForm(forms.Form):
    email = forms.BooleanField(label=_("E-mail"), required=False)
    sms = forms.BooleanField(label=_("Text message (SMS)"), required=False)
    phone = forms.RegexField(
        label=_("Mobile phone number"),
        required=False,
        regex=r"^1[3-9]\d{9}$",
        max_length=11,
        help_text=_("11 digits, for example 13800138000. Needed for text messages."),
        error_messages={"invalid": _("Enter a mobile phone number of 11 digits, like 13800138000.")},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sms") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter a mobile phone number to receive text messages."))
        return cleaned


class FollowUpForm(forms.Form):
    outcome = forms.CharField(
        label=_("What was done"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The applicant reads this."),
        error_messages={"required": _("Write what was done to follow up the rating.")},
    )


class PeriodForm(forms.Form):
    """The dashboard's period. Empty fields mean the default period, which the date pickers show
    (prefilled) and the hints name, so what the page says and what the pickers hold agree."""

    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)

    def __init__(self, *args: Any, default_start: date, default_end: date, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"start": default_start, "end": default_end})
        super().__init__(*args, **kwargs)
        self.fields["start"].help_text = _("The first day counted, as year-month-day. Empty: %(date)s.") % {
            "date": default_start.isoformat()
        }
        self.fields["end"].help_text = _("The last day counted, as year-month-day. Empty: %(date)s (today).") % {
            "date": default_end.isoformat()
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date must be on or after the start date."))
        return cleaned


def _element_field(element: DataElement, initial: Any) -> forms.Field:
    """A form field for one data element; the element's own validation runs in clean()."""
    label = element.label
    help_text = element.help_text
    if element.kind == DataElement.Kind.CHOICE:
        choices = [("", _("Choose"))] + [
            (str(c.get("value")), in_language(c.get("label_en", ""), c.get("label_zh", "")) or str(c.get("value")))
            for c in element.choices or []
            if isinstance(c, dict)
        ]
        return forms.ChoiceField(label=label, help_text=help_text, choices=choices, initial=initial, required=False)
    if element.kind == DataElement.Kind.BOOLEAN:
        choices = [("", _("Choose")), ("yes", _("Yes")), ("no", _("No"))]
        value = "yes" if initial is True else "no" if initial is False else ""
        return forms.ChoiceField(label=label, help_text=help_text, choices=choices, initial=value, required=False)
    widget = forms.TextInput(attrs={"type": "date"} if element.kind == DataElement.Kind.DATE else {})
    return forms.CharField(
        label=label, help_text=help_text, initial="" if initial is None else str(initial), required=False, widget=widget
    )


class CorrectionForm(forms.Form):
    """Only the fields and documents the department asked about; everything else stays as submitted."""

    def __init__(
        self,
        *args: Any,
        elements: list[DataElement],
        unknown_keys: list[str],
        current: dict[str, Any],
        document_types: list[DocumentType],
        vault: dict[str, list[Document]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.elements = {f"field-{e.key}": e for e in elements}
        for name, element in self.elements.items():
            self.fields[name] = _element_field(element, current.get(element.key))
        for key in unknown_keys:  # a key the version no longer describes: plain text
            self.fields[f"field-{key}"] = forms.CharField(label=key, initial=str(current.get(key, "")), required=False)
        self.document_types = {f"document-{t.code}": t for t in document_types}
        for name, document_type in self.document_types.items():
            choices = [("", _("Upload a new file instead"))] + [
                (str(d.pk), f"{d.display_name} ({d.created_at:%Y-%m-%d})") for d in vault.get(document_type.code, [])
            ]
            self.fields[name] = forms.ChoiceField(
                label=_("%(document)s: choose from your vault") % {"document": document_type.name},
                choices=choices,
                required=False,
            )
            self.fields[f"upload-{document_type.code}"] = forms.FileField(
                label=_("%(document)s: or upload a new file") % {"document": document_type.name},
                help_text=limits_text(document_type),
                required=False,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, element in self.elements.items():
            if name in self.errors:
                continue
            raw = cleaned.get(name)
            if element.kind == DataElement.Kind.BOOLEAN:
                raw = {"yes": True, "no": False}.get(raw or "")
            try:
                value = validate_value(element, raw)
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            if value is None:
                self.add_error(name, _("Enter %(label)s.") % {"label": element.label})
            cleaned[name] = value
        for name, document_type in self.document_types.items():
            if not cleaned.get(name) and not cleaned.get(f"upload-{document_type.code}"):
                self.add_error(name, _("Choose a document from your vault or upload a new file."))
        return cleaned

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name.removeprefix("field-"): value for name, value in data.items() if name.startswith("field-")}


class ConfirmWithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this application"),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw the application.")},
    )
