"""PDFs: refuse active content, then rewrite what passes with pikepdf (qpdf).

Refused, each with its own sentence: JavaScript (actions, the /JavaScript names tree, /JS
keys), actions run on opening or on events (/OpenAction with an action, /AA), Launch and other
actions that reach outside the document, embedded files, XFA forms, RichMedia (Flash, video,
3D), encryption, data after the last %%EOF or a second file readable as ZIP (polyglots), more
pages than allowed, and more than the allowed bytes once the streams are unpacked. Incremental
updates are looked at too: an earlier revision's objects are not in the final object graph,
so the raw bytes of a file with several revisions are searched for active names as well.

What passes is written again from the parsed objects: unreferenced objects and earlier
revisions dropped, object streams generated afresh, document metadata (the Info dictionary and
XMP) and page-piece data stripped, a deterministic file identifier.
"""

import io
import re
import zipfile
import zlib
from collections.abc import Iterator

import pikepdf
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from documents.disarm.limits import Limits, Refusal

# Actions that run code, reach outside the document or send data out.
_ACTIVE_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/SubmitForm": "outside",
    "/ImportData": "outside",
    "/GoToR": "outside",
    "/GoToE": "outside",
    "/Rendition": "media",
    "/RichMediaExecute": "media",
    "/Movie": "media",
    "/Sound": "media",
}
# In the raw bytes of an incrementally updated file: names that mean active content.
_RAW_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|OpenAction|AA)(?![A-Za-z0-9])")
# Flate-only streams are measured unpacked with a bounded inflater, never inflated whole.
_IMAGE_CODECS = {"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"}


def _messages() -> dict[str, str]:
    return {
        "javascript": _(
            "This PDF contains JavaScript, which we do not accept. "
            "Save it again as PDF without scripts, or scan the paper document."
        ),
        "open_action": _(
            "This PDF runs an action when it is opened or used, which we do not accept. "
            "Save it again as a plain PDF (for example with “Print to PDF”), or scan the paper document."
        ),
        "launch": _(
            "This PDF tries to start another program, which we do not accept. "
            "Save it again as a plain PDF, or scan the paper document."
        ),
        "outside": _(
            "This PDF sends data to, or opens, other files or websites, which we do not accept. "
            "Save it again as a plain PDF, or scan the paper document."
        ),
        "embedded": _(
            "This PDF has other files attached inside it, which we do not accept. Upload each document as its own file."
        ),
        "xfa": _(
            "This PDF is an XFA form, which we do not accept. "
            "Fill it in, then save it again as a plain PDF (for example with “Print to PDF”)."
        ),
        "media": _(
            "This PDF contains embedded media (Flash, video, sound or 3D), which we do not accept. "
            "Save it again as a plain PDF, or scan the paper document."
        ),
        "encrypted": _(
            "This PDF is protected by a password or encryption, so we cannot check it. "
            "Remove the protection, save it again and upload the new file."
        ),
        "polyglot": _(
            "This PDF has other data hidden after its end or inside it, which we do not accept. "
            "Save it again as PDF and upload the new file."
        ),
        "unreadable": _("The file is not a readable PDF. Save or scan it again and upload the new file."),
        "incomplete": _("The file is not a complete PDF. Save or scan it again and upload the new file."),
    }


def _refuse(rule: str) -> Refusal:
    return Refusal(_messages()[rule], code=f"pdf_{rule}")


def _check_envelope(content: bytes) -> None:
    if not content.startswith(b"%PDF-"):
        raise _refuse("incomplete")
    end = content.rfind(b"%%EOF")
    if end < 0:
        raise _refuse("incomplete")
    # Only line ends (and the odd NUL some scanners pad with) may follow the last %%EOF.
    if content[end + 5 :].strip(b"\r\n\t \x00"):
        raise _refuse("polyglot")
    # A second file a ZIP reader would open (its directory is found from the end of the file).
    try:
        if zipfile.is_zipfile(io.BytesIO(content)):
            raise _refuse("polyglot")
    except (OSError, ValueError):
        pass


def _direct_dictionaries(obj: pikepdf.Object, depth: int = 0) -> Iterator[pikepdf.Dictionary]:
    """`obj` and the dictionaries written inside it (an annotation's action is often not an
    object of its own); indirect objects are visited once each, from `pdf.objects`."""
    if depth > 32:
        return
    if isinstance(obj, pikepdf.Stream):
        obj = obj.stream_dict
    if isinstance(obj, pikepdf.Dictionary):
        yield obj
        values = obj.values()
    elif isinstance(obj, pikepdf.Array):
        values = list(obj)
    else:
        return
    for value in values:
        if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
            yield from _direct_dictionaries(value, depth + 1)


def _dictionaries(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    for obj in pdf.objects:
        yield from _direct_dictionaries(obj)
    yield from _direct_dictionaries(pdf.trailer)


def _check_objects(pdf: pikepdf.Pdf) -> None:
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        if "/JavaScript" in names:
            raise _refuse("javascript")
        if "/EmbeddedFiles" in names:
            raise _refuse("embedded")
    open_action = root.get("/OpenAction")
    if isinstance(open_action, pikepdf.Dictionary):
        raise _refuse("javascript" if open_action.get("/S") == "/JavaScript" else "open_action")
    acroform = root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        raise _refuse("xfa")
    for dictionary in _dictionaries(pdf):
        keys = set(dictionary.keys())
        if "/JS" in keys:
            raise _refuse("javascript")
        action = dictionary.get("/S")
        if isinstance(action, pikepdf.Name) and str(action) in _ACTIVE_ACTIONS:
            raise _refuse(_ACTIVE_ACTIONS[str(action)])
        if "/AA" in keys:
            raise _refuse("open_action")
        subtype = dictionary.get("/Subtype")
        if "/EF" in keys or dictionary.get("/Type") == "/EmbeddedFile" or subtype == "/FileAttachment":
            raise _refuse("embedded")
        if isinstance(subtype, pikepdf.Name) and str(subtype) in {"/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"}:
            raise _refuse("media")
        if "/XFA" in keys:
            raise _refuse("xfa")


def _check_earlier_revisions(content: bytes) -> None:
    """A file updated incrementally keeps its earlier revisions' objects in the raw bytes."""
    if content.count(b"%%EOF") < 2 and content.count(b"startxref") < 2:
        return
    # Names may be written with #xx escapes (/J#61vaScript): undo them before searching.
    unescaped = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), content)
    found = _RAW_ACTIVE.search(unescaped)
    if found is None:
        return
    name = found.group(1)
    rule = {
        b"JavaScript": "javascript",
        b"JS": "javascript",
        b"Launch": "launch",
        b"EmbeddedFile": "embedded",
        b"EmbeddedFiles": "embedded",
        b"RichMedia": "media",
        b"XFA": "xfa",
    }.get(name, "open_action")
    raise _refuse(rule)


def _unpacked_size(stream: pikepdf.Stream, budget: int) -> int:
    """The stream's size once unpacked, counted only up to `budget` + 1 (a bomb is never inflated)."""
    filters = stream.stream_dict.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else ([str(filters)] if filters else [])
    raw = stream.read_raw_bytes()
    if not names or all(name in _IMAGE_CODECS for name in names):
        return len(raw)
    if names == ["/FlateDecode"]:
        inflater = zlib.decompressobj()
        try:
            size = len(inflater.decompress(raw, budget + 1))
        except zlib.error:
            return len(raw)  # qpdf keeps a broken stream as it is
        return size
    try:
        return len(stream.read_bytes(pikepdf.StreamDecodeLevel.generalized))
    except pikepdf.PdfError:
        return len(raw)


def _check_unpacked_size(pdf: pikepdf.Pdf, limit: int) -> None:
    total = 0
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            total += _unpacked_size(obj, limit - total)
            if total > limit:
                raise Refusal(
                    _(
                        "This PDF holds more than %(limit)s once unpacked, which we do not accept. "
                        "Save it again at a lower resolution, or split it into smaller files."
                    )
                    % {"limit": filesizeformat(limit)},
                    code="pdf_unpacked_size",
                )


def _strip_metadata(pdf: pikepdf.Pdf) -> None:
    for key in ("/Metadata", "/PieceInfo", "/SpiderInfo", "/Perms"):
        if key in pdf.Root:
            del pdf.Root[key]
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    for page in pdf.pages:
        for key in ("/Metadata", "/PieceInfo"):
            if key in page.obj:
                del page.obj[key]


def disarm_pdf(content: bytes, limits: Limits) -> bytes:
    """The rewritten PDF, or Refusal naming the rule the file broke."""
    _check_envelope(content)
    try:
        pdf = pikepdf.open(io.BytesIO(content))
    except pikepdf.PasswordError:
        raise _refuse("encrypted") from None
    except (pikepdf.PdfError, ValueError, RuntimeError):
        raise _refuse("unreadable") from None
    with pdf:
        if pdf.is_encrypted:
            raise _refuse("encrypted")
        pages = len(pdf.pages)
        if pages == 0:
            raise _refuse("unreadable")
        if pages > limits.max_pages:
            raise Refusal(
                _(
                    "This PDF has %(pages)s pages; a %(type)s may have at most %(limit)s. "
                    "Upload only the pages that are needed."
                )
                % {"pages": f"{pages:,}", "type": limits.type_name, "limit": limits.max_pages},
                code="pdf_pages",
            )
        _check_objects(pdf)
        _check_earlier_revisions(content)
        _check_unpacked_size(pdf, limits.max_unpacked_bytes)
        _strip_metadata(pdf)
        pdf.remove_unreferenced_resources()
        output = io.BytesIO()
        try:
            pdf.save(
                output,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                compress_streams=True,
                fix_metadata_version=False,
                deterministic_id=True,
            )
        except (pikepdf.PdfError, ValueError, RuntimeError):
            raise _refuse("unreadable") from None
    return output.getvalue()
