"""A suspended role must grant nothing, and that holds only while every access check reads
memberships through `Membership.objects` (or `user.memberships`), whose manager leaves suspended
rows out. A join such as `filter(memberships__role=...)` or `Count("memberships")` bypasses every
manager, so the code must not use one: ask `accounts.selectors` (`department_ids`, `members_of`)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "services", "documents", "workflows", "portal", "lib")
LOOKUP = re.compile(r"^-?memberships(__|$)")
TRANSLATIONS = {"_", "gettext", "gettext_lazy"}


def joins(tree: ast.AST) -> list[int]:
    lines = []
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        name = getattr(call.func, "id", getattr(call.func, "attr", ""))
        if name in TRANSLATIONS:
            continue
        if any(keyword.arg and "memberships__" in keyword.arg for keyword in call.keywords):
            lines.append(call.lineno)
        for argument in call.args:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and LOOKUP.match(argument.value):
                lines.append(call.lineno)
    return lines


def test_no_code_joins_memberships_past_the_manager():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and "tests" not in path.parts
        for line in joins(ast.parse(path.read_text()))
    ]
    assert not offenders, "joins through memberships ignore suspension: " + ", ".join(offenders)


def test_the_check_finds_a_join():
    sample = 'User.objects.filter(memberships__role="clerk")\nUser.objects.annotate(n=Count("memberships"))'
    assert joins(ast.parse(sample)) == [1, 2]
