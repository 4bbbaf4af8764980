from django.urls import path

from workflows.apply import api

urlpatterns = [
    path("drafts/", api.DraftListApi.as_view(), name="drafts"),
    path("drafts/<int:group_id>/", api.DraftDetailApi.as_view(), name="draft"),
    path("drafts/<int:group_id>/documents/", api.DraftDocumentApi.as_view(), name="draft-documents"),
    path("drafts/<int:group_id>/submit/", api.DraftSubmitApi.as_view(), name="draft-submit"),
    path("drafts/<int:group_id>/move-to-current/", api.DraftMoveToCurrentApi.as_view(), name="draft-move"),
]
