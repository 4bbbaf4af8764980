"""The form for giving a mandate: who (found by log-in and resident ID), what, how long, and
whether the delegate may submit."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from services.models import LifeEvent, Service


class DateInput(forms.DateInput):
    input_type = "date"


class GrantForm(forms.Form):
    delegate_login = forms.CharField(
        label=_("Their e-mail address or log-in name"),
        max_length=254,
        error_messages={"required": _("Enter the e-mail address or log-in name of the person you trust.")},
    )
    delegate_resident_id = forms.CharField(
        label=_("Their resident ID number"),
        help_text=_("So that the mandate goes to the right person: both must match their verified identity."),
        max_length=18,
        error_messages={"required": _("Enter their resident ID number.")},
    )
    scope = forms.ChoiceField(
        label=_("What may they do for you?"),
        choices=[("all", _("Every service")), ("chosen", _("Only the services and life events I choose"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose every service, or the services and life events you choose.")},
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "govuk-checkboxes__input"}),
    )
    life_events = forms.ModelMultipleChoiceField(
        label=_("Life events"),
        queryset=LifeEvent.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "govuk-checkboxes__input"}),
    )
    valid_from = forms.DateField(
        label=_("From"),
        widget=DateInput(format="%Y-%m-%d"),
        error_messages={"required": _("Enter the first day of the mandate."), "invalid": _("Enter a real date.")},
    )
    valid_until = forms.DateField(
        label=_("Until"),
        widget=DateInput(format="%Y-%m-%d"),
        error_messages={"required": _("Enter the last day of the mandate."), "invalid": _("Enter a real date.")},
    )
    may_submit = forms.ChoiceField(
        label=_("May they submit for you?"),
        choices=[
            ("yes", _("Yes: they may submit, answer correction requests and withdraw")),
            ("no", _("No: they may only prepare drafts, and I submit them")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether they may submit for you.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.order_by("name_en")  # type: ignore[attr-defined]
        self.fields["life_events"].queryset = LifeEvent.objects.order_by("name_en")  # type: ignore[attr-defined]
        if not self.is_bound:
            today = timezone.localdate()
            # As the date input sends them (the page's template prints the value as it is).
            self.initial.setdefault("valid_from", today.isoformat())
            self.initial.setdefault("valid_until", (today + datetime.timedelta(days=365)).isoformat())
