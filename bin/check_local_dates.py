"""Finds local dates read off a datetime without converting it to local time first.

`moment.date()` on an aware datetime gives the date in *its* zone: for a UTC `timezone.now()`,
yesterday's date between 00:00 and 08:00 in Shanghai. Every local date comes from
`timezone.localdate()` or `timezone.localtime(moment).date()`. This check (run by `make check`)
reports every `.date()` call whose receiver is not a `localtime(...)` call; a line that works
on a naive or already-local value says so with `# local-date: <why>`.

Usage: python bin/check_local_dates.py [paths...]   (exit status 1 when something is found)
"""

import ast
import sys
from pathlib import Path

SKIP_PARTS = {".venv", "node_modules", "migrations", "var", "static", ".git"}
ALLOWED_RECEIVERS = {"localtime", "localdate"}


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.Name):
            return func.id
    return None


def findings(path: Path) -> list[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "date"
            and not node.args
            and not node.keywords
        ):
            continue
        if _call_name(node.func.value) in ALLOWED_RECEIVERS:
            continue
        line = lines[node.lineno - 1]
        if "# local-date:" in line:
            continue
        found.append((node.lineno, line.strip()))
    return found


def main(arguments: list[str]) -> int:
    roots = [Path(argument) for argument in arguments] or [Path(".")]
    total = 0
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in files:
            if SKIP_PARTS & set(path.parts):
                continue
            for lineno, line in findings(path):
                total += 1
                print(f"{path}:{lineno}: .date() of a datetime that may not be local: {line}")
    if total:
        print(
            f"{total} found. Use timezone.localdate(moment) or timezone.localtime(moment).date(); "
            "mark a naive or already-local value with '# local-date: <why>'."
        )
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
