from django.urls import path

from workflows.workbench import counter, views

urlpatterns = [
    path("workbench/", views.queue, name="workbench"),
    path("workbench/bulk/", views.bulk, name="workbench-bulk"),
    path("workbench/items/<int:item_id>/", views.item_detail, name="workbench-item"),
    path("workbench/items/<int:item_id>/claim/", views.claim, name="workbench-claim"),
    path("workbench/items/<int:item_id>/release/", views.release, name="workbench-release"),
    path("workbench/items/<int:item_id>/reveal/", views.reveal, name="workbench-reveal"),
    path("workbench/items/<int:item_id>/documents/<int:document_id>/", views.document, name="workbench-document"),
    path(
        "workbench/items/<int:item_id>/documents/<int:document_id>/preview/",
        views.document_preview,
        name="workbench-document-preview",
    ),
    path(
        "workbench/items/<int:item_id>/documents/<int:document_id>/preview.png",
        views.document_preview_image,
        name="workbench-document-preview-image",
    ),
    path("workbench/items/<int:item_id>/decide/", views.decide, name="workbench-decide"),
    path("workbench/items/<int:item_id>/correction/", views.correction, name="workbench-correction"),
    path("workbench/items/<int:item_id>/notes/", views.note, name="workbench-note"),
    path("workbench/items/<int:item_id>/transfer/", views.transfer, name="workbench-transfer"),
    path("workbench/items/<int:item_id>/assign/", views.assign, name="workbench-assign"),
    path(
        "workbench/items/<int:item_id>/certificates/<int:certificate_id>/revoke/",
        views.revoke,
        name="workbench-revoke",
    ),
    path("workbench/supervision/", views.supervision, name="workbench-supervision"),
    path("workbench/transfer-requests/<int:request_id>/", views.transfer_decide, name="workbench-transfer-decide"),
    path("workbench/counter/", counter.start, name="workbench-counter"),
    path("workbench/counter/identity/", counter.identity_check, name="workbench-counter-identity"),
    path("workbench/counter/<int:group_id>/", counter.fill, name="workbench-counter-form"),
    path("workbench/counter/<int:group_id>/done/", counter.done, name="workbench-counter-done"),
    path("workbench/incidents/<int:incident_id>/<slug:verb>/", views.incident, name="workbench-incident"),
]
