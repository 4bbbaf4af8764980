import re

from django import forms
from django.utils.translation import gettext_lazy as _

# Yuan as typed: digits, and at most two after the point. Read as text, never as a number with
# a fractional part: 12.5 becomes 1250 fen by string work alone.
YUAN = re.compile(r"^\s*¥?\s*(\d{1,10})(?:\.(\d{1,2}))?\s*$")


def fen_from_text(text: str) -> int | None:
    match = YUAN.match(text or "")
    if match is None:
        return None
    whole, part = match.groups()
    return int(whole) * 100 + int((part or "0").ljust(2, "0"))


class RefundForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount to refund, in yuan"),
        help_text=_("For example 12.50. At most the amount still refundable."),
        max_length=20,
    )
    available_fen = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    note = forms.CharField(label=_("Reason for the refund"), max_length=300)

    def clean_amount(self) -> int:
        fen = fen_from_text(self.cleaned_data["amount"])
        if fen is None:
            raise forms.ValidationError(_("Enter an amount in yuan, like 12.50."))
        if fen <= 0:
            raise forms.ValidationError(_("Enter an amount of at least ¥0.01."))
        return fen
