"""Payments API: start paying an application's fees (with an Idempotency-Key: a retry never makes
a second charge), read a payment, and — finance staff — refund quoting the amount still
refundable (412 when someone refunded first). Amounts are integers of fen."""

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedApiRequest
from payments import actions, selectors
from payments.models import Payment, Refund
from workflows.models import Application
from workflows.progress.selectors import application_for_applicant

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string (e.g. a UUID). The same key again returns the same payment, never a second charge.",
)


class PaymentOutput(serializers.Serializer):
    reference = serializers.CharField()
    application = serializers.CharField(source="application.number")
    amount_fen = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()
    refund_amount_available = serializers.IntegerField(source="refundable_fen")
    state = serializers.ChoiceField(choices=Payment.State.choices)
    next_url = serializers.CharField()
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class RefundOutput(serializers.Serializer):
    reference = serializers.CharField()
    payment = serializers.CharField(source="payment.reference")
    amount_fen = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Refund.State.choices)
    created_at = serializers.DateTimeField()


class PaymentCreateApi(APIView):
    class PaymentCreateInput(serializers.Serializer):
        application = serializers.CharField(max_length=40, help_text="The application's number.")

    @extend_schema(
        request=PaymentCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(PaymentOutput, description="Started: send the payer to next_url."),
            200: OpenApiResponse(PaymentOutput, description="The payment this key (or an earlier request) started."),
            400: OpenApiResponse(description="Missing Idempotency-Key or application."),
            404: OpenApiResponse(description="No such application of yours."),
            409: OpenApiResponse(description="Nothing to pay, already paid, or the provider is not answering."),
        },
        tags=["payments"],
    )
    def post(self, request: AuthenticatedApiRequest) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return Response({"detail": "Send an Idempotency-Key header."}, status=status.HTTP_400_BAD_REQUEST)
        data = self.PaymentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            application = application_for_applicant(user=request.user, number=data.validated_data["application"])
        except Application.DoesNotExist as exc:
            raise Http404 from exc
        payment, created = actions.payment_start(
            payer=request.user,
            application_id=application.pk,
            idempotency_key=f"api-{key}",
            return_url_for=lambda reference: request.build_absolute_uri(reverse("payments:return", args=[reference])),
        )
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PaymentDetailApi(APIView):
    @extend_schema(
        responses={200: PaymentOutput, 404: OpenApiResponse(description="No such payment of yours.")}, tags=["payments"]
    )
    def get(self, request: AuthenticatedApiRequest, reference: str) -> Response:
        try:
            payment = selectors.payment_for_payer(user=request.user, reference=reference)
        except Payment.DoesNotExist as exc:
            raise Http404 from exc
        return Response(PaymentOutput(payment).data)


class RefundCreateApi(APIView):
    class RefundCreateInput(serializers.Serializer):
        amount_fen = serializers.IntegerField(min_value=1, max_value=10**12)
        refund_amount_available = serializers.IntegerField(
            min_value=0, max_value=10**12, help_text="The amount still refundable, as you last read it."
        )
        note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    @extend_schema(
        request=RefundCreateInput,
        responses={
            201: RefundOutput,
            400: OpenApiResponse(description="Amount out of range."),
            404: OpenApiResponse(description="No such payment in your finance departments."),
            409: OpenApiResponse(description="The payment cannot be refunded."),
            412: OpenApiResponse(description="refund_amount_available is out of date: someone refunded first."),
        },
        tags=["payments"],
    )
    def post(self, request: AuthenticatedApiRequest, reference: str) -> Response:
        try:
            payment = selectors.payment_for_finance(user=request.user, reference=reference)
        except Payment.DoesNotExist as exc:
            raise Http404 from exc
        data = self.RefundCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refund = actions.refund_request(
                payment_id=payment.pk,
                amount_fen=data.validated_data["amount_fen"],
                available_fen=data.validated_data["refund_amount_available"],
                actor=request.user,
                note=data.validated_data["note"],
            )
        except actions.RefundPreconditionFailed as refused:
            return Response(
                {"detail": refused.message, "refund_amount_available": refused.available_fen},
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
        except actions.PaymentRefused as refused:
            return Response({"detail": refused.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)
