"""First-page previews, rendered on the server from the rendition (never from the original).

PDFs are rendered by PDFium (pypdfium2), images are scaled down by Pillow; either way the
browser receives a PNG it only has to display. `preview_page_response` is the small HTML
page a sandboxed frame shows: no scripts, one image and our one stylesheet, which fits the image
to the frame's width (`default-src 'none'; img-src 'self'; style-src 'self'`);
`preview_image_response` is the PNG itself.

PDFium and Pillow are imported by the functions that draw, on the first preview a process shows,
not with this module (every page of the workbench imports it).
"""

import io
import logging
from typing import TYPE_CHECKING

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string

from documents.models import Document
from documents.storage import private_storage

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

PREVIEW_WIDTH = 600  # pixels: the width of the frame on the work item page, readable and quick to send
PREVIEW_MAX_HEIGHT = 1600
PREVIEWABLE = {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff"}

# The preview page may show images and styles from us and nothing else; it may be framed only by
# our pages.
PREVIEW_PAGE_CSP = {
    "default-src": ["'none'"],
    "img-src": ["'self'"],
    "style-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
}


def has_preview(document: Document) -> bool:
    return document.content_type in PREVIEWABLE


def _first_page(content: bytes) -> "Image.Image":
    import pypdfium2

    pdf = pypdfium2.PdfDocument(content)
    try:
        page = pdf[0]
        width, height = page.get_size()
        scale = min(PREVIEW_WIDTH / width, PREVIEW_MAX_HEIGHT / height)
        image = page.render(scale=scale, may_draw_forms=False).to_pil()
        page.close()
    finally:
        pdf.close()
    return image


def preview_png(document: Document) -> bytes:
    """The first page (or the image) as a PNG of at most PREVIEW_WIDTH × PREVIEW_MAX_HEIGHT."""
    if not has_preview(document):
        raise Http404
    from PIL import Image

    with private_storage.open(document.file.name, "rb") as handle:
        content = handle.read()
    try:
        if document.content_type == "application/pdf":
            image = _first_page(content)
        else:
            with Image.open(io.BytesIO(content)) as opened:
                opened.seek(0)
                image = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
            image.thumbnail((PREVIEW_WIDTH, PREVIEW_MAX_HEIGHT))
    except Exception as error:  # a rendition that cannot be drawn has no preview, and says so in the log
        logger.warning("no preview for document %s: %s", document.pk, error)
        raise Http404 from error
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def preview_image_response(document: Document) -> HttpResponse:
    response = HttpResponse(preview_png(document), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = 'inline; filename="preview.png"'
    return response


def preview_page_response(document: Document, *, image_url: str, alt: str) -> HttpResponse:
    """The frame's page; the view adds the CSP (PREVIEW_PAGE_CSP) and allows same-origin framing."""
    if not has_preview(document):
        raise Http404
    html = render_to_string("documents/preview_frame.html", {"image_url": image_url, "alt": alt})
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    return response
