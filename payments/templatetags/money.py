from django import template

from services.fees import format_fen

register = template.Library()


@register.filter
def fen(value: int | None) -> str:
    """¥12.50 for 1250: amounts are integers of fen, shown in yuan."""
    return "" if value is None else format_fen(int(value))
