"""Electronic receipts (电子票据): a PDF for each payment and each refund, stored in the payer's
vault as an issued document, like certificates (documents/certificates.py)."""

import io

from django.db import transaction
from django.utils import timezone

from documents.actions import document_issue
from documents.fonts import font_for, fonts_register
from payments.models import Payment, Refund
from services.fees import format_fen
from services.models import DocumentType

RECEIPT_TYPE = "payment-receipt"


def render_receipt_pdf(*, title_zh: str, title_en: str, lines: list[tuple[str, str]], issuer: str) -> bytes:
    # reportlab is loaded where a receipt is drawn (a Celery task), not by the web process.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    fonts_register()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title_en)
    pdf.setAuthor(issuer)
    width, height = A4
    y = height - 30 * mm
    for text, size, bold in ((issuer, 11, False), (title_zh, 22, False), (title_en, 18, True)):
        pdf.setFont(font_for(text, bold=bold), size)
        pdf.drawCentredString(width / 2, y, text)
        y -= 12 * mm
    for label, value in lines:
        text = f"{label}: {value}"
        pdf.setFont(font_for(text), 11)
        pdf.drawString(25 * mm, y, text)
        y -= 8 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _receipt_type() -> DocumentType:
    # Made by a data migration; made here too when a database was emptied since (tests).
    return DocumentType.objects.get_or_create(
        code=RECEIPT_TYPE,
        defaults={
            "name_en": "Payment receipt",
            "name_zh": "缴费电子票据",
            "allowed_content_types": ["application/pdf"],
            "max_pages": 5,
        },
    )[0]


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def payment_receipt_issue(*, payment_id: int) -> Payment:
    """The receipt of a successful payment, once (the payment row is locked while it is made)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("department", "application").get(pk=payment_id)
        if payment.receipt_id is not None or payment.state != Payment.State.SUCCESS:
            return payment
        department = payment.department
        content = render_receipt_pdf(
            title_zh="缴费电子票据",
            title_en="Payment receipt",
            issuer=f"{department.name_zh} · {department.name_en}",
            lines=[
                ("票据号 Receipt number", payment.reference),
                ("申请编号 Application", payment.application.number),
                ("事项 For", payment.description),
                ("金额 Amount", format_fen(payment.amount_fen)),
                ("支付时间 Paid", _when(payment.paid_at or payment.updated_at)),
                ("支付渠道 Provider", f"{payment.provider} {payment.provider_id}"),
            ],
        )
        document = document_issue(
            owner=payment.payer,
            document_type=_receipt_type(),
            content=content,
            display_name=f"Payment receipt {payment.reference}.pdf",
        )
        payment.receipt = document
        payment.save(update_fields=["receipt", "updated_at"])
        return payment


def refund_receipt_issue(*, refund_id: int) -> Refund:
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update()
            .select_related("payment__department", "payment__application")
            .get(pk=refund_id)
        )
        if refund.receipt_id is not None or refund.state != Refund.State.SUCCESS:
            return refund
        payment = refund.payment
        department = payment.department
        content = render_receipt_pdf(
            title_zh="退款电子票据",
            title_en="Refund receipt",
            issuer=f"{department.name_zh} · {department.name_en}",
            lines=[
                ("票据号 Receipt number", refund.reference),
                ("原缴费 Payment", payment.reference),
                ("申请编号 Application", payment.application.number),
                ("退款金额 Refunded", format_fen(refund.amount_fen)),
                ("原金额 Paid", format_fen(payment.amount_fen)),
                ("原因 Reason", str(refund.get_reason_display())),
                ("退款时间 Refunded on", _when(refund.finished_at or refund.created_at)),
            ],
        )
        refund.receipt = document_issue(
            owner=payment.payer,
            document_type=_receipt_type(),
            content=content,
            display_name=f"Refund receipt {refund.reference}.pdf",
        )
        refund.save(update_fields=["receipt"])
        return refund
