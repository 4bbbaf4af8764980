"""Forms of "My data": parse what the person typed; the rules live in the actions."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name as shown on One Door"),
        help_text=_("How we greet you. Forms always use your verified name."),
        max_length=150,
        error_messages={"required": _("Enter the name we should greet you by.")},
    )
    preferred_language = forms.ChoiceField(
        label=_("Language of messages"),
        choices=settings.LANGUAGES,
        error_messages={"invalid_choice": _("Choose English or Chinese.")},
    )
    email = forms.EmailField(
        label=_("E-mail address for messages"),
        help_text=_("A new address is used once you follow the link we send to it."),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter an e-mail address like name@example.com.")},
    )


class ErasureForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand what will be erased and what is kept, and that my account will be closed"),
        error_messages={"required": _("Confirm that you understand what happens before your account is erased.")},
    )
