from django.urls import path

from workflows.apply import views

urlpatterns = [
    path("services/<slug:code>/apply/", views.start_service, name="apply-start-service"),
    path("life-events/<slug:code>/apply/", views.start_life_event, name="apply-start-life-event"),
    path("applications/", views.application_list, name="apply-list"),
    path("applications/<int:group_id>/", views.resume, name="apply-resume"),
    path("applications/<int:group_id>/questions/<int:index>/", views.section, name="apply-section"),
    path("applications/<int:group_id>/documents/", views.materials, name="apply-materials"),
    path("applications/<int:group_id>/review/", views.review, name="apply-review"),
    path("applications/<int:group_id>/submit/", views.submit, name="apply-submit"),
    path("applications/<int:group_id>/move-to-current/", views.move_to_current, name="apply-move-to-current"),
    path("applications/<int:group_id>/receipt/", views.receipt, name="apply-receipt"),
]
