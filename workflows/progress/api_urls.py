from django.urls import path

from workflows.progress import api

urlpatterns = [
    path("my/applications/", api.MyApplicationsApi.as_view(), name="my-applications"),
    path("my/applications/<str:number>/", api.MyApplicationDetailApi.as_view(), name="my-application"),
    path("my/access-log/", api.MyAccessLogApi.as_view(), name="my-access-log"),
    path("notifications/", api.NotificationListApi.as_view(), name="notifications"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(), name="notifications-read-all"),
    path("notifications/<int:notification_id>/read/", api.NotificationReadApi.as_view(), name="notification-read"),
    path("ratings/", api.RatingListApi.as_view(), name="ratings"),
    path("supervision/dashboard/", api.DashboardApi.as_view(), name="supervision-dashboard"),
]
