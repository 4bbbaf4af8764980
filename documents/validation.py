"""Upload checks: what a file *is* is decided by its bytes, never by its name or the browser.

`check_upload` reads an uploaded file once, refuses anything empty, too big, of a type the
document type does not allow, disguised (a name whose extension disagrees with the content),
malformed or active (documents.disarm: JavaScript in a PDF, a decompression bomb…), and returns
what the vault needs to store it: the bytes as uploaded, their safe rendition (the only bytes
ever served), the detected type, a harmless display name and a server-generated stored name.
"""

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from documents.disarm import Limits, Refusal, rendition_of
from services.models import DocumentType

# Content types we can recognise and check structurally, with the extensions that may claim them.
# The first extension is the one used for the stored name.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/png": ("png",),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/tiff": ("tif", "tiff"),
    "text/plain": ("txt", "text"),
}
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
}
DISPLAY_NAME_MAX = 120
# Markup sniffed by browsers as HTML/SVG even when labelled otherwise: never "plain text".
_MARKUP = re.compile(rb"^\s*(<\?xml|<!doctype|<html|<head|<body|<script|<svg|<iframe|<a\s|<img|<div|<!--)", re.I)


class UploadRejected(ValidationError):
    """The file was refused; `messages` holds one sentence the uploader can act on."""

    status_code = 400


class UploadUnavailable(UploadRejected):
    """Nothing is wrong with the file, but it cannot be checked now (no virus scanner, or it is
    down): nothing was stored, and the person should try again later. APIs answer 503."""

    status_code = 503


@dataclass(frozen=True)
class CheckedUpload:
    content: bytes  # as uploaded: kept sealed for evidence, never served
    content_type: str
    display_name: str
    stored_name: str
    sha256: str  # of `content`: the same bytes uploaded twice are stored once
    rendition: bytes = b""  # rewritten by documents.disarm: the only bytes ever served

    @property
    def size(self) -> int:
        return len(self.content)


def detect_content_type(content: bytes) -> str:
    """The content type the bytes really have ("application/octet-stream" when unknown)."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return str(kind.mime)
    head = content[:4096]
    if _MARKUP.match(head.lstrip(b"\xef\xbb\xbf")):
        return "text/html"
    if b"\x00" not in head:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


def sanitise_display_name(name: str, *, fallback_extension: str = "") -> str:
    """Harmless display text from an uploaded name: no path parts, control or direction characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    # Cc: control characters; Cf: format characters (RTL overrides, zero-width joiners…);
    # Zl/Zp: line and paragraph separators.
    name = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = re.sub(r"\s+", " ", name).strip().strip(".").strip()
    if len(name) > DISPLAY_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: DISPLAY_NAME_MAX - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:DISPLAY_NAME_MAX].rstrip()
    if not name:
        name = _("document") + (f".{fallback_extension}" if fallback_extension else "")
    return name


def stored_name_for(content_type: str) -> str:
    """A random server-side name in sharded folders, e.g. ``3f/a2/3fa2…9c.pdf``."""
    token = uuid.uuid4().hex
    extension = EXTENSIONS.get(content_type, ("bin",))[0]
    return f"{token[:2]}/{token[2:4]}/{token}.{extension}"


def _claimed_extension(name: str) -> str:
    base = re.split(r"[/\\]", name or "")[-1]
    stem, dot, extension = base.rpartition(".")
    return extension.lower().strip() if dot and stem else ""


def _type_label(content_type: str) -> str:
    labels = {
        "application/pdf": "PDF",
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/gif": "GIF",
        "image/webp": "WebP",
        "image/tiff": "TIFF",
        "text/plain": _("plain text"),
    }
    return str(labels.get(content_type, content_type))


def allowed_types_text(document_type: DocumentType) -> str:
    return ", ".join(_type_label(t) for t in document_type.allowed_content_types)


def limits_for(document_type: DocumentType) -> Limits:
    """What a file of this type may be: the document type's own limits within the portal's."""
    return Limits(
        type_name=str(document_type.name),
        max_pages=min(document_type.max_pages or settings.PDF_MAX_PAGES, settings.PDF_MAX_PAGES),
        max_unpacked_bytes=settings.PDF_MAX_UNPACKED_BYTES,
        max_image_side=min(document_type.max_image_side or settings.IMAGE_MAX_SIDE, settings.IMAGE_MAX_SIDE),
        max_image_pixels=settings.IMAGE_MAX_PIXELS,
    )


def max_bytes_for(document_type: DocumentType) -> int:
    return min(document_type.max_bytes or settings.UPLOAD_MAX_BYTES, settings.UPLOAD_MAX_BYTES)


def limits_text(document_type: DocumentType) -> str:
    """The rules a file of this type must meet, in one or two sentences, for the upload pages."""
    limits = limits_for(document_type)
    allowed = [t for t in document_type.allowed_content_types or [] if t in EXTENSIONS]
    parts = [
        _("%(types)s, smaller than %(size)s.")
        % {"types": allowed_types_text(document_type), "size": filesizeformat(max_bytes_for(document_type))}
    ]
    if "application/pdf" in allowed:
        parts.append(
            ngettext("A PDF may have %(pages)s page", "A PDF may have up to %(pages)s pages", limits.max_pages)
            % {"pages": f"{limits.max_pages:,}"}
            + _(", without scripts, attachments or a password.")
        )
    if any(t in IMAGE_FORMATS for t in allowed):
        parts.append(_("An image may be up to %(side)s pixels wide and high.") % {"side": f"{limits.max_image_side:,}"})
    return " ".join(str(part) for part in parts)


def check_content(
    *, content: bytes, claimed_name: str, document_type: DocumentType, disarm: bool = True
) -> CheckedUpload:
    """Every check on bytes already in memory (used for uploads and for issued documents).

    `disarm=False` is for the portal's own issued documents only: they are served as made (a
    rewrite would break their signature) and their signature's random bytes may spell a name the
    active-content rules look for, so only the size, type and name are checked."""
    if not content:
        raise UploadRejected(_("The selected file is empty. Choose a file that has content."), code="empty")
    limit = max_bytes_for(document_type)
    if len(content) > limit:
        raise UploadRejected(
            _("The file must be smaller than %(limit)s.") % {"limit": filesizeformat(limit)}, code="too_big"
        )
    content_type = detect_content_type(content)
    allowed = list(document_type.allowed_content_types or [])
    if content_type not in allowed or content_type not in EXTENSIONS:
        raise UploadRejected(
            _("The file must be a %(types)s file. This file is not one, whatever its name says.")
            % {"types": allowed_types_text(document_type)},
            code="wrong_type",
        )
    claimed = _claimed_extension(claimed_name)
    if claimed and claimed not in EXTENSIONS[content_type]:
        raise UploadRejected(
            _("The file's name ends in .%(claimed)s but its content is %(actual)s. Rename it or choose the right file.")
            % {"claimed": claimed[:10], "actual": _type_label(content_type)},
            code="extension_mismatch",
        )
    try:
        rendition = rendition_of(content, content_type, limits_for(document_type)) if disarm else content
    except Refusal as refusal:
        raise UploadRejected(refusal.messages[0], code=refusal.code) from None
    return CheckedUpload(
        content=content,
        content_type=content_type,
        display_name=sanitise_display_name(claimed_name, fallback_extension=EXTENSIONS[content_type][0]),
        stored_name=stored_name_for(content_type),
        sha256=hashlib.sha256(content).hexdigest(),
        rendition=rendition,
    )


def check_upload(*, uploaded_file: UploadedFile, document_type: DocumentType) -> CheckedUpload:
    """Reads the upload (never more than the limit plus one byte) and checks it."""
    limit = max_bytes_for(document_type)
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise UploadRejected(
            _("The file must be smaller than %(limit)s.") % {"limit": filesizeformat(limit)}, code="too_big"
        )
    uploaded_file.seek(0)
    content = uploaded_file.read(limit + 1)
    return check_content(content=content, claimed_name=uploaded_file.name or "", document_type=document_type)


def read_pdf_upload(uploaded_file: UploadedFile) -> bytes:
    """The bytes of an uploaded PDF checked for size and content (used by the public
    certificate check, where no document type applies); UploadRejected otherwise."""
    limit = settings.UPLOAD_MAX_BYTES
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise UploadRejected(
            _("The file must be smaller than %(limit)s.") % {"limit": filesizeformat(limit)}, code="too_big"
        )
    uploaded_file.seek(0)
    content = uploaded_file.read(limit + 1)
    if not content:
        raise UploadRejected(_("The selected file is empty. Choose a file that has content."), code="empty")
    if len(content) > limit:
        raise UploadRejected(
            _("The file must be smaller than %(limit)s.") % {"limit": filesizeformat(limit)}, code="too_big"
        )
    if detect_content_type(content) != "application/pdf":
        raise UploadRejected(
            _("The file must be a PDF. Certificates are issued as PDF files; choose the file you downloaded."),
            code="wrong_type",
        )
    # Only whole-file structure here: a signed certificate carries incremental updates and is read,
    # never stored or served, so the upload rules of documents.disarm do not apply to it.
    if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-2048:]:
        raise UploadRejected(_("The file is not a complete PDF. Save or scan it again and upload the new file."))
    return content
