"""What a file may be, for one document type, and the refusal a rule raises."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


class Refusal(ValidationError):
    """One rule of content disarm was broken; the message names it (caught as UploadRejected)."""


@dataclass(frozen=True)
class Limits:
    type_name: str
    max_pages: int
    max_unpacked_bytes: int
    max_image_side: int
    max_image_pixels: int
