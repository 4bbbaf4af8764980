"""The catalogue's administration: services, versions (form, materials, fees, route), life events,
proactive offer rules.

Department administrators (accounts.Role.DEPARTMENT_ADMIN) edit only the services a superuser
granted them (django-guardian object permission services.change_service). Every save here
writes a CatalogueChange (who, when, what changed). Published versions are shown read-only.

The admin is split by what it administers (audit, dictionary, search, services, versions); importing
each module here is what registers its pages, and keeps the names importable from services.admin.
"""

from services.admin.audit import (
    AuditedAdmin,
    CatalogueStaffAdmin,
    acting_user,
    editable_services,
    is_catalogue_staff,
)
from services.admin.dictionary import CatalogueChangeAdmin, DataElementAdmin, DocumentTypeAdmin, LifeEventAdmin
from services.admin.offers import OfferRuleAdmin
from services.admin.search import SearchSynonymAdmin
from services.admin.services import GrantForm, ServiceAdmin
from services.admin.versions import ServiceVersionAdmin, VersionForm

__all__ = [
    "AuditedAdmin",
    "CatalogueChangeAdmin",
    "CatalogueStaffAdmin",
    "DataElementAdmin",
    "DocumentTypeAdmin",
    "GrantForm",
    "LifeEventAdmin",
    "OfferRuleAdmin",
    "SearchSynonymAdmin",
    "ServiceAdmin",
    "ServiceVersionAdmin",
    "VersionForm",
    "acting_user",
    "editable_services",
    "is_catalogue_staff",
]
