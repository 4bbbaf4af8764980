from django.urls import path

from workflows.privacy import views

urlpatterns = [
    path("account/data/", views.my_data, name="privacy-data"),
    path("account/data/exports/<int:export_id>/", views.export_download, name="privacy-export-download"),
    path("account/data/profile/", views.profile, name="privacy-profile"),
    path("account/data/erase/", views.erase, name="privacy-erase"),
]
