from django.urls import path

from workflows.progress.views import access_log, applications, inbox, supervision, track

urlpatterns = [
    path("applications/bundles/<str:number>/", applications.group_detail, name="progress-group"),
    path("applications/<str:number>/", applications.application_detail, name="progress-application"),
    path("applications/<str:number>/correction/", applications.correction, name="progress-correction"),
    path("applications/<str:number>/correction/sent/", applications.correction_sent, name="progress-correction-sent"),
    path("applications/<str:number>/withdraw/", applications.withdraw, name="progress-withdraw"),
    path("applications/<str:number>/rate/", applications.rate, name="progress-rate"),
    path("applications/<str:number>/rate/<str:step_key>/", applications.rate, name="progress-rate-step"),
    path("inbox/", inbox.inbox, name="progress-inbox"),
    path("inbox/read-all/", inbox.read_all, name="progress-read-all"),
    path("inbox/<int:notification_id>/", inbox.message, name="progress-message"),
    path("account/notifications/", inbox.preferences, name="progress-preferences"),
    path("account/access-log/", access_log.access_log, name="progress-access-log"),
    path("account/access-log/<int:record_id>/proof.json", access_log.record_proof, name="progress-access-proof"),
    path("account/access-log/<int:record_id>/proof/", access_log.record_proof_page, name="progress-access-proof-page"),
    path("track/", track.track, name="track"),
    path("supervision/", supervision.dashboard, name="progress-supervision"),
    path("supervision/follow-ups/<int:follow_up_id>/", supervision.follow_up, name="progress-follow-up"),
]
