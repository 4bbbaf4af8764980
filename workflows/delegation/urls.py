from django.urls import path

from workflows.delegation import views

urlpatterns = [
    path("account/mandates/", views.mandate_list, name="mandate-list"),
    path("account/mandates/new/", views.mandate_new, name="mandate-new"),
    path("account/mandates/<int:mandate_id>/", views.mandate_detail, name="mandate-detail"),
    path("account/mandates/<int:mandate_id>/accept/", views.mandate_accept_view, name="mandate-accept"),
    path("account/mandates/<int:mandate_id>/end/", views.mandate_end_view, name="mandate-end"),
    path("account/mandates/<int:mandate_id>/act/", views.act_for, name="mandate-act"),
    path("account/mandates/myself/", views.act_as_myself, name="mandate-act-as-myself"),
]
