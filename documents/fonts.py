"""The fonts of the PDFs the portal writes (certificates, receipts): reportlab's built-in
Helvetica for Latin text and its Adobe CID font for Chinese, so nothing is embedded or shipped.

Names only here: reportlab itself is imported by `fonts_register`, called when a PDF is drawn,
so that a process which never draws one (the web worker) does not load it."""

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"


def font_for(text: str, *, bold: bool = False) -> str:
    """The font that can draw this text: the CID font as soon as one character is not ASCII."""
    if any(not ch.isascii() for ch in text):
        return CJK_FONT
    return LATIN_BOLD if bold else LATIN_FONT


def fonts_register() -> None:
    """Registers the Chinese font with reportlab, once per process (the Latin ones are built in)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
