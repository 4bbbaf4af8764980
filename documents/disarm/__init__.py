"""Content disarm and reconstruction (CDR): every accepted file is rewritten into a rendition.

Only the rendition is ever served; the original bytes are kept sealed for evidence
(documents.originals). `rendition_of` refuses (Refusal, an UploadRejected) with one sentence
naming the rule the file broke, or returns the rewritten bytes, of the same content type:
- PDFs: pikepdf refuses active content and rewrites the rest (documents/disarm/pdf.py);
- images: Pillow decodes within pixel limits and encodes afresh without metadata (images.py);
- plain text: decoded as UTF-8 and written again without control characters.

pikepdf and Pillow are imported on the first file of their kind a process disarms, not with this
module: every process that knows the upload rules imports it, and most never disarm a file.
"""

import unicodedata

from django.utils.translation import gettext as _

from documents.disarm.limits import Limits, Refusal

__all__ = ["Limits", "Refusal", "rendition_of"]

IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
}


def _disarm_text(content: bytes) -> bytes:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refusal(_("The text file is not in UTF-8. Save it again as UTF-8 text."), code="text_encoding") from None
    kept = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) not in {"Cc", "Cf"})
    return kept.encode("utf-8")


def rendition_of(content: bytes, content_type: str, limits: Limits) -> bytes:
    if content_type == "application/pdf":
        from documents.disarm.pdf import disarm_pdf

        return disarm_pdf(content, limits)
    if content_type in IMAGE_FORMATS:
        from documents.disarm.images import disarm_image

        return disarm_image(content, IMAGE_FORMATS[content_type], limits)
    if content_type == "text/plain":
        return _disarm_text(content)
    raise Refusal(_("We cannot check files of this type."), code="wrong_type")
