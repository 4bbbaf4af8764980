"""The hostile-file corpus: every file is made here, in code, when the tests run.

Nothing hostile is committed: each generator builds its file with pikepdf, reportlab, Pillow or
a few bytes by hand, so the repository holds recipes, not payloads. `CORPUS` lists every file
with what must happen to it; `tests/corpus/test_hostile_files.py` uploads each through the
vault API (scanned by the clamd test peer, or a real clamd when CLAMD_* is set) and checks it.

    python -m tests.corpus.files var/corpus   # writes the files out, e.g. for a real ClamAV
"""

import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import pikepdf
from PIL import Image
from reportlab.pdfgen import canvas

from tests.support.clamd import EICAR


@dataclass(frozen=True)
class CorpusFile:
    key: str
    name: str  # the name it is uploaded under
    make: Callable[[], bytes]  # built when first needed (collecting the tests builds nothing)
    refused_with: str = ""  # a piece of the sentence it is refused with; "" = accepted

    @cached_property
    def content(self) -> bytes:
        return self.make()

    @property
    def accepted(self) -> bool:
        return not self.refused_with


def plain_pdf(text: str = "Tenancy agreement", pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=True)
    pdf.setTitle("Lease between A and B")
    pdf.setAuthor("Somebody's laptop")
    for number in range(pages):
        pdf.drawString(72, 720, f"{text}, page {number + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _edited(change, *, text: str = "Tenancy agreement") -> bytes:
    """A plain PDF changed by `change(pdf)` and saved again by pikepdf."""
    with pikepdf.open(io.BytesIO(plain_pdf(text))) as pdf:
        change(pdf)
        output = io.BytesIO()
        pdf.save(output)
    return output.getvalue()


def _javascript_names_tree(pdf: pikepdf.Pdf) -> None:
    action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array(["hello", action])))


def _open_action_javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("this.exportDataObject()"))


def _open_action_uri(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://attacker.example/"))


def _page_additional_action(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = pikepdf.Dictionary(
        O=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://attacker.example/"))
    )


def _link(pdf: pikepdf.Pdf, action: pikepdf.Dictionary) -> None:
    annotation = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=pikepdf.Array([72, 700, 300, 730]), A=action
        )
    )
    pdf.pages[0].obj.Annots = pikepdf.Array([annotation])


def _launch(pdf: pikepdf.Pdf) -> None:
    _link(pdf, pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))


def _embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 not really a program")


def _xfa(pdf: pikepdf.Pdf) -> None:
    xfa = pdf.make_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>')
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), XFA=xfa)


def _rich_media(pdf: pikepdf.Pdf) -> None:
    annotation = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia, Rect=pikepdf.Array([0, 0, 10, 10]))
    )
    pdf.pages[0].obj.Annots = pikepdf.Array([annotation])


def _unpacked_bomb(pdf: pikepdf.Pdf) -> None:
    # 64 MiB of zeros, about 64 KiB once compressed, hanging off the page as an unused resource.
    bomb = pikepdf.Stream(pdf, zlib.compress(b"\0" * (64 * 1024 * 1024), 9))
    bomb.Filter = pikepdf.Name.FlateDecode
    pdf.Root.Bomb = bomb


def encrypted_pdf(*, user_password: str) -> bytes:
    with pikepdf.open(io.BytesIO(plain_pdf())) as pdf:
        output = io.BytesIO()
        pdf.save(output, encryption=pikepdf.Encryption(owner="owner-secret", user=user_password, R=6))
    return output.getvalue()


def ten_thousand_pages() -> bytes:
    pdf = pikepdf.new()
    for _ in range(10_000):
        pdf.add_blank_page(page_size=(595, 842))
    output = io.BytesIO()
    pdf.save(output, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()


def polyglot_pdf_zip() -> bytes:
    """A PDF with a ZIP holding an HTML page appended, ending in %%EOF again (issue 19)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.html", "<html><script>alert(document.domain)</script></html>")
    return plain_pdf() + archive.getvalue() + b"\n%%EOF\n"


def trailing_bytes_pdf() -> bytes:
    return plain_pdf() + b"<html><script>alert(1)</script></html>"


def incremental_update_with_javascript() -> bytes:
    """A clean PDF, then an incremental update whose new object is JavaScript nobody references."""
    base = plain_pdf()
    offset = len(base)
    update = b"\n99 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\n"
    xref_at = offset + len(update)
    previous = int(base[base.rindex(b"startxref") + 9 :].split()[0])
    with pikepdf.open(io.BytesIO(base)) as pdf:
        size = len(pdf.objects) + 1
        root = pdf.Root.objgen[0]
    xref = f"xref\n99 1\n{offset + 1:010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size {max(size, 100)} /Root {root} 0 R /Prev {previous} >>\nstartxref\n{xref_at}\n%%EOF\n"
    return base + update + xref + trailer.encode()


def eicar_pdf() -> bytes:
    """A valid PDF carrying the EICAR test string in a comment, as the issue's tester sent it."""
    return plain_pdf().replace(b"%%EOF", b"% " + EICAR + b"\n%%EOF")


def exif_jpeg() -> bytes:
    """20 × 10 pixels, EXIF orientation 6 (turn 90°), GPS coordinates and a PHP payload in EXIF."""
    image = Image.new("RGB", (20, 10), "navy")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010E] = "<?php system($_GET['c']); ?>"  # ImageDescription
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 47.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG header declaring 2.5 billion pixels over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    header = struct.pack("!IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    data = zlib.compress(b"\0" * 10_000, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def wide_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (12_000, 4)).save(buffer, format="PNG")
    return buffer.getvalue()


def plain_png() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (16, 16), "teal")
    image.save(buffer, format="PNG", pnginfo=_png_text("Comment", "made by a scanner app"))
    return buffer.getvalue()


def _png_text(key: str, value: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def build_corpus() -> list[CorpusFile]:
    rlo = "\u202egpj.exe.pdf"  # shown as "fdp.exe.jpg" by a naive viewer
    return [
        # Accepted: rewritten, and only the rewrite is served.
        CorpusFile("valid-pdf", "lease.pdf", plain_pdf),
        CorpusFile("valid-png", "scan.png", plain_png),
        CorpusFile("exif-jpeg", "photo.jpg", exif_jpeg),
        CorpusFile("rlo-name", rlo, partial(plain_pdf, "RLO")),
        CorpusFile("dot-dot-name", "../../etc/passwd.pdf", partial(plain_pdf, "dots")),
        # Refused, each with its rule.
        CorpusFile("pdf-javascript", "form.pdf", partial(_edited, _javascript_names_tree), "contains JavaScript"),
        CorpusFile(
            "pdf-openaction-javascript", "open.pdf", partial(_edited, _open_action_javascript), "contains JavaScript"
        ),
        CorpusFile(
            "pdf-openaction-uri", "open-uri.pdf", partial(_edited, _open_action_uri), "runs an action when it is opened"
        ),
        CorpusFile(
            "pdf-page-aa", "page-aa.pdf", partial(_edited, _page_additional_action), "runs an action when it is opened"
        ),
        CorpusFile("pdf-launch", "launch.pdf", partial(_edited, _launch), "tries to start another program"),
        CorpusFile(
            "pdf-embedded-file", "attached.pdf", partial(_edited, _embedded_file), "other files attached inside it"
        ),
        CorpusFile("pdf-xfa", "xfa.pdf", partial(_edited, _xfa), "is an XFA form"),
        CorpusFile("pdf-richmedia", "flash.pdf", partial(_edited, _rich_media), "contains embedded media"),
        CorpusFile("pdf-zip-polyglot", "polyglot.pdf", polyglot_pdf_zip, "other data hidden"),
        CorpusFile("pdf-trailing-bytes", "trailing.pdf", trailing_bytes_pdf, "other data hidden"),
        CorpusFile(
            "pdf-incremental-javascript", "updated.pdf", incremental_update_with_javascript, "contains JavaScript"
        ),
        CorpusFile("pdf-10000-pages", "long.pdf", ten_thousand_pages, "has 10,000 pages"),
        CorpusFile("pdf-unpacked-bomb", "bomb.pdf", partial(_edited, _unpacked_bomb), "once unpacked"),
        CorpusFile(
            "pdf-encrypted", "locked.pdf", partial(encrypted_pdf, user_password="secret"), "protected by a password"
        ),
        CorpusFile(
            "pdf-encrypted-no-password",
            "locked-open.pdf",
            partial(encrypted_pdf, user_password=""),
            "protected by a password",
        ),
        CorpusFile("pdf-eicar", "eicar.pdf", eicar_pdf, "found a threat"),
        CorpusFile("png-decompression-bomb", "bomb.png", png_bomb, "decompression bomb"),
        CorpusFile("png-too-wide", "wide.png", wide_png, "12,000 × 4 pixels"),
        CorpusFile("html-as-pdf", "invoice.pdf", lambda: b"<!DOCTYPE html><script>alert(1)</script>", "must be a PDF"),
        CorpusFile(
            "svg-as-png", "me.png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "must be a"
        ),
        CorpusFile("empty", "empty.pdf", lambda: b"", "empty"),
        CorpusFile("truncated-pdf", "cut.pdf", lambda: plain_pdf()[:300], "not a complete PDF"),
    ]


def main(folder: str) -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for item in build_corpus():
        (target / f"{item.key}{Path(item.name).suffix or '.bin'}").write_bytes(item.content)
        print(f"{item.key:32} {'accepted' if item.accepted else 'refused: ' + item.refused_with}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/corpus")
