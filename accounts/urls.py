from django.contrib.auth.views import LogoutView
from django.urls import path

from accounts import organisation_views, self_service, views
from accounts.eid import views as eid_views
from accounts.second_factor import urls as second_factor_urls

app_name = "accounts"
urlpatterns = [
    path("register/", views.register, name="register"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("eid/login/", eid_views.eid_login, name="eid-login"),
    path("eid/callback/", eid_views.eid_callback, name="eid-callback"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("password/", self_service.PasswordChange.as_view(), name="password-change"),
    path("password/reset/", self_service.PasswordReset.as_view(), name="password-reset"),
    path("password/reset/sent/", self_service.PasswordResetSent.as_view(), name="password-reset-sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        self_service.PasswordResetConfirm.as_view(),
        name="password-reset-confirm",
    ),
    path("password/reset/done/", self_service.PasswordResetComplete.as_view(), name="password-reset-complete"),
    path("email/confirm/<str:token>/", self_service.email_verify_page, name="email-verify"),
    path("email/send/", self_service.email_verification_resend, name="email-verification-send"),
    path("sessions/end-others/", self_service.sessions_end_others, name="sessions-end-others"),
    path(
        "organisations/<int:organisation_id>/representatives/",
        organisation_views.representatives,
        name="organisation-representatives",
    ),
    path(
        "organisations/<int:organisation_id>/representatives/<int:user_id>/remove/",
        organisation_views.representative_remove,
        name="organisation-representative-remove",
    ),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<slug:code>/grant/", views.staff_grant, name="staff-grant"),
    path("staff/roles/<int:membership_id>/revoke/", views.staff_revoke, name="staff-revoke"),
    path("staff/<slug:code>/invite/", views.staff_invite, name="staff-invite"),
    path(
        "staff/invitations/<int:invitation_id>/withdraw/",
        views.staff_invitation_withdraw,
        name="staff-invitation-withdraw",
    ),
    path(
        "staff/<slug:code>/people/<int:user_id>/suspend/",
        views.staff_access,
        {"verb": "suspend"},
        name="staff-suspend",
    ),
    path(
        "staff/<slug:code>/people/<int:user_id>/resume/",
        views.staff_access,
        {"verb": "resume"},
        name="staff-resume",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    *second_factor_urls.urlpatterns,
]
