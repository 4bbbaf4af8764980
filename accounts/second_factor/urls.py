from django.urls import path

from accounts.second_factor import views

# Included in accounts/urls.py (namespace "accounts").
urlpatterns = [
    path("security/", views.security, name="security"),
    path("security/app/", views.totp_confirm, name="security-app"),
    path("security/app/start/", views.totp_start, name="security-app-start"),
    path("security/recovery-codes/", views.recovery_codes, name="security-recovery-codes"),
    path("security/<slug:kind>/<int:device_id>/remove/", views.remove, name="security-remove"),
    path("verify/", views.verify, name="verify"),
]
