"""The search synonyms in the admin: the everyday words people search with, and the catalogue's
words for them. A change takes effect on the next search (services.selectors.search_synonyms)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy

from services.admin.audit import CatalogueStaffAdmin
from services.models import SearchSynonym
from services.search import MEANING_SEPARATORS, normalise


class SearchSynonymForm(forms.ModelForm):
    class Meta:
        model = SearchSynonym
        fields = ("term", "meanings")

    def clean_term(self) -> str:
        term = normalise(self.cleaned_data["term"])
        if not term:
            raise forms.ValidationError(gettext_lazy("Enter the word or phrase people search for."))
        clash = SearchSynonym.objects.exclude(pk=self.instance.pk).filter(term__iexact=term)
        if clash.exists():
            raise forms.ValidationError(gettext_lazy("There is already a synonym for this word; change that one."))
        return term

    def clean_meanings(self) -> str:
        words = [normalise(word) for word in MEANING_SEPARATORS.split(self.cleaned_data["meanings"])]
        words = list(dict.fromkeys(word for word in words if word))
        if not words:
            raise forms.ValidationError(gettext_lazy("Enter at least one word the catalogue uses, for example 餐饮."))
        return ", ".join(words)


@admin.register(SearchSynonym)
class SearchSynonymAdmin(CatalogueStaffAdmin):
    form = SearchSynonymForm
    list_display = ("term", "meanings", "updated_at")
    search_fields = ("term", "meanings")
