"""Images: decoded by Pillow within pixel limits, turned upright, and encoded afresh.

The size in the header is checked before any pixel is decoded (a decompression bomb declares
its size there), Pillow's own bomb guard is turned into a refusal, EXIF orientation is applied,
and the pixels alone are copied into a new image: EXIF (GPS included), XMP, ICC profiles, text
chunks and comments do not survive. The format stays the same, so names and types still agree.
"""

import io
import logging
import warnings

from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from documents.disarm.limits import Limits, Refusal

logger = logging.getLogger(__name__)

# Modes each format can be written in; anything else is converted first.
_WRITABLE = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "RGB", "RGBA", "I", "I;16"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
    "TIFF": {"1", "L", "LA", "RGB", "RGBA", "CMYK"},
}


def _unreadable() -> Refusal:
    return Refusal(
        _("The image could not be read. It may be damaged; take or save it again and upload the new file."),
        code="image_unreadable",
    )


def _too_big(width: int, height: int, limits: Limits) -> Refusal:
    return Refusal(
        _(
            "This image is %(width)s × %(height)s pixels; a %(type)s may be at most %(side)s pixels on each side "
            "and %(megapixels)s million pixels in all. Make it smaller and upload it again."
        )
        % {
            "width": f"{width:,}",
            "height": f"{height:,}",
            "type": limits.type_name,
            "side": f"{limits.max_image_side:,}",
            "megapixels": round(limits.max_image_pixels / 1_000_000),
        },
        code="image_too_big",
    )


def _bomb(limits: Limits) -> Refusal:
    return Refusal(
        _(
            "This image declares far more pixels than it could hold (a “decompression bomb”); a %(type)s may be "
            "at most %(megapixels)s million pixels. Take or save the picture again and upload the new file."
        )
        % {"type": limits.type_name, "megapixels": round(limits.max_image_pixels / 1_000_000)},
        code="image_bomb",
    )


def _fresh_copy(image: Image.Image, image_format: str) -> Image.Image:
    """The pixels in a new image object: nothing of the file's `info` comes along."""
    mode = image.mode
    if mode not in _WRITABLE[image_format]:
        if image_format == "GIF":
            mode = "P"
        elif "A" in image.getbands() or image.info.get("transparency") is not None:
            mode = "RGBA" if "RGBA" in _WRITABLE[image_format] else "RGB"
        else:
            mode = "RGB"
        image = image.convert(mode)
    fresh = Image.new(image.mode, image.size)
    if image.mode == "P":
        fresh.putpalette(image.getpalette() or [])
    fresh.paste(image)
    return fresh


def disarm_image(content: bytes, image_format: str, limits: Limits) -> bytes:
    """The re-encoded image without metadata, or Refusal."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.format != image_format:
                    raise _unreadable()
                width, height = image.size
                if max(width, height) > limits.max_image_side or width * height > limits.max_image_pixels:
                    raise _too_big(width, height, limits)
                image.load()
                upright = ImageOps.exif_transpose(image)
                fresh = _fresh_copy(upright, image_format)
    except Refusal:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        logger.warning("image refused: decompression bomb")
        raise _bomb(limits) from None
    except Exception as error:  # Pillow raises many kinds of error for broken files
        raise _unreadable() from error
    output = io.BytesIO()
    encoder_options: dict[str, dict[str, object]] = {
        "JPEG": {"quality": 90, "optimize": True},
        "PNG": {"optimize": True},
    }
    options = encoder_options.get(image_format, {})
    fresh.save(output, format=image_format, **options)
    return output.getvalue()
