from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("payments/applications/<str:number>/", views.pay, name="pay"),
    path("payments/<str:reference>/return/", views.payment_return, name="return"),
    path("payments/webhooks/<slug:provider>/", views.webhook, name="webhook"),
    path("finance/payments/", views.finance_payments, name="finance-payments"),
    path("finance/payments/<str:reference>/", views.finance_payment, name="finance-payment"),
    path("finance/refunds/", views.finance_refunds, name="finance-refunds"),
    path("finance/reconciliation/", views.finance_reconciliation, name="finance-reconciliation"),
]
