from django.urls import path

from payments import api

app_name = "payments-api"
urlpatterns = [
    path("payments/", api.PaymentCreateApi.as_view(), name="payment-create"),
    path("payments/<str:reference>/", api.PaymentDetailApi.as_view(), name="payment"),
    path("payments/<str:reference>/refunds/", api.RefundCreateApi.as_view(), name="refund-create"),
]
