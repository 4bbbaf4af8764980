"""Sending a private document to a browser that has already passed a permission check.

`PRIVATE_DOWNLOAD_MODE` picks how the bytes leave: "stream" (Django streams the file; for
development), "x-accel-redirect" (nginx serves an `internal` location) or "x-sendfile"
(Apache mod_xsendfile). Callers (the vault's download view, the clerk workbench) check
permission and record access *before* calling `file_response`.
"""

import re
import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseBase

from documents.models import Document
from documents.storage import private_storage
from documents.validation import sanitise_display_name

# Types a browser may show inline; anything else is always an attachment.
INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "text/plain"}


def ascii_fallback(name: str) -> str:
    """A plain-ASCII file name with no quotes, separators or control characters."""
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", decomposed)
    safe = re.sub(r"_+", "_", safe).strip(" ._")
    _stem, dot, extension = name.rpartition(".")
    if not safe or safe.strip("_") == "" or (dot and safe == extension):
        safe = "document" + (f".{extension}" if dot and extension.isascii() and extension.isalnum() else "")
    return safe[:120]


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback plus filename* in UTF-8, nothing injectable."""
    name = sanitise_display_name(name)
    disposition = "inline" if inline else "attachment"
    fallback = ascii_fallback(name)
    encoded = quote(name, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def file_response(document: Document, *, inline: bool) -> HttpResponseBase:
    """Serves `document.file`: the rendition (or an issued document as made), never the original."""
    inline = inline and document.content_type in INLINE_TYPES
    mode = settings.PRIVATE_DOWNLOAD_MODE
    response: HttpResponseBase
    if mode == "x-accel-redirect":
        response = HttpResponse(content_type=document.content_type)
        response["X-Accel-Redirect"] = settings.PRIVATE_DOWNLOAD_PREFIX.rstrip("/") + "/" + document.file.name
    elif mode == "x-sendfile":
        response = HttpResponse(content_type=document.content_type)
        response["X-Sendfile"] = private_storage.path(document.file.name)
    else:
        response = FileResponse(private_storage.open(document.file.name, "rb"), content_type=document.content_type)
        response["Content-Length"] = str(document.served_size or document.size)
    response["Content-Disposition"] = content_disposition(document.display_name, inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    # A document is never a page of ours: no scripts, no forms, no plugins, even when shown inline.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'"
        if inline
        else "default-src 'none'; sandbox"
    )
    return response
