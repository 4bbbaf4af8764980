"""Money is an integer of fen everywhere in payments: no float, no Decimal, no amount written
with a fractional part in code or templates (issue: "no floats anywhere")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "payments").rglob("*.py")),
    *sorted((ROOT / "templates" / "payments").rglob("*.html")),
    ROOT / "services" / "fees.py",
    ROOT / "workflows" / "engine" / "actions" / "payments.py",
    ROOT / "templates" / "workflows" / "apply" / "_fees.html",
]
FORBIDDEN = [
    (re.compile(r"\bfloat\s*\("), "float("),
    (re.compile(r"\bFloatField\b"), "FloatField"),
    (re.compile(r"\bDecimal(Field)?\b"), "Decimal"),
    (re.compile(r"\b\w*(amount|fen|price|fee)\w*\s*[:=]\s*\d+\.\d+"), "an amount written with a decimal point"),
    (re.compile(r"\|floatformat"), "floatformat"),
    (re.compile(r"(?<![\w.])\d+\s*/\s*100(?!\d)"), "a division by 100 (use divmod on fen)"),
]
# The one place yuan as administrators write them (Fee.amount, a Decimal column) become fen.
ALLOWED = {("services/fees.py", "Decimal")}


def offences(path: Path) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith("payments/tests/"):
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for pattern, what in FORBIDDEN:
            if pattern.search(line) and (relative, what) not in ALLOWED:
                found.append(f"{relative}:{number}: {what}: {line.strip()}")
    return found


def test_no_floats_or_decimals_in_money_code():
    assert all(path.exists() for path in SOURCES)
    found = [offence for path in SOURCES for offence in offences(path)]
    assert found == []


def test_the_check_would_catch_a_float_amount():
    text = 'amount_fen = float(price)\nfee = 12.50\ntotal = Decimal("1")\n'
    lines = text.splitlines()
    hits = [what for line in lines for pattern, what in FORBIDDEN if pattern.search(line)]
    assert hits == ["float(", "an amount written with a decimal point", "Decimal"]
