from django import forms
from django.utils.translation import gettext_lazy as _

from services.models import DocumentType


class DocumentTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DocumentType) -> str:  # type: ignore[override]
        return obj.name


class UploadForm(forms.Form):
    """Only the shape of the input; what the file is gets decided by documents.validation."""

    document_type = DocumentTypeChoiceField(
        label=_("Type of document"),
        queryset=DocumentType.objects.order_by("name_en"),
        empty_label=_("Choose a type"),
        error_messages={
            "required": _("Choose the type of document"),
            "invalid_choice": _("Choose a type of document from the list"),
        },
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, JPEG or PNG, depending on the type of document."),
        error_messages={
            "required": _("Choose a file to upload"),
            "empty": _("The selected file is empty. Choose a file that has content."),
            "invalid": _("Choose a file to upload"),
        },
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        help_text=_("The 16 letters and numbers printed under the QR code, for example ABCD-EFGH-JKMN-PQRS."),
        max_length=40,
        error_messages={"required": _("Enter the verification code")},
    )


class VerifyUploadForm(forms.Form):
    """Only the shape of the input; what the file is gets decided by documents.validation."""

    file = forms.FileField(
        label=_("Certificate file"),
        help_text=_("The PDF file of the certificate, as you downloaded or received it."),
        error_messages={
            "required": _("Choose the certificate's PDF file"),
            "empty": _("The selected file is empty. Choose a file that has content."),
            "invalid": _("Choose the certificate's PDF file"),
        },
    )
