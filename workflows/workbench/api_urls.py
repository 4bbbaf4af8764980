from django.urls import path

from workflows.workbench import api

urlpatterns = [
    path("workbench/items/", api.QueueApi.as_view(), name="workbench-queue"),
    path("workbench/items/<int:item_id>/", api.WorkItemDetailApi.as_view(), name="workbench-item"),
    path("workbench/items/<int:item_id>/claim/", api.ClaimApi.as_view(), name="workbench-claim"),
    path("workbench/items/<int:item_id>/release/", api.ReleaseApi.as_view(), name="workbench-release"),
    path("workbench/items/<int:item_id>/decide/", api.DecideApi.as_view(), name="workbench-decide"),
    path("workbench/items/<int:item_id>/correction/", api.CorrectionApi.as_view(), name="workbench-correction"),
    path("workbench/items/<int:item_id>/transfer/", api.TransferApi.as_view(), name="workbench-transfer"),
    path("workbench/transfer-requests/", api.TransferRequestListApi.as_view(), name="workbench-transfer-requests"),
    path(
        "workbench/transfer-requests/<int:request_id>/decide/",
        api.TransferRequestDecideApi.as_view(),
        name="workbench-transfer-request-decide",
    ),
]
