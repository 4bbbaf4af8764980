"""WCAG 2.2 AA on every page of the authorisation matrix that renders HTML.

Every GET row of tests/authz_matrix.py that answers 200 to some actor, and the admin site (its
sign-in page, its index, every model's list, add page and one object's change page), is opened
in Chromium by each actor who gets 200, in English and in Chinese, at 1280 and at 320 CSS pixels.
On each, axe-core runs with every rule that tests WCAG 2.0/2.1/2.2 A or AA, or a best practice
(the experimental ones included: tests/support/browser.py, AXE_RUN), and a violation of any
impact fails; and the page may not be wider than the window (WCAG 1.4.10 reflow). All failures
are listed together, as a table.

Pages that render the same templates for the same actor are opened once (the admin's lists,
mostly). Both widths are checked on one page load, by resizing the window. While fixing a page,
ACCESSIBILITY_PAGES=/admin/,/api/ (parts of addresses) checks only the pages whose address has one.
"""

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.authz_matrix import ACTORS, ROWS
from tests.fuzz.world import World, build_world, signed_in
from tests.support.browser import AXE_RUN, AXE_SOURCE
from workflows.delegation.acting import SESSION_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 320)
LANGUAGES = ("en", "zh-hans")

# The page's width and the window's; if the page is wider, the innermost elements that reach past
# the window's right edge (outside any box that scrolls), to say what to fix.
REFLOW = """
() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return [document.documentElement.scrollWidth, width, ''];
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    const overflow = getComputedStyle(p).overflowX;
    if ((overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden') && p !== document.documentElement
        && p !== document.body) return true; } return false; };
  const all = [...document.body.querySelectorAll('*')].filter(el => el.getBoundingClientRect().right > width + 0.5);
  const unscrolled = all.filter(el => !scrolls(el));
  const past = unscrolled.length ? unscrolled : all;
  const innermost = past.filter(el => !past.some(other => other !== el && el.contains(other)));
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  return [document.documentElement.scrollWidth, width, innermost.slice(0, 3).map(name).join('; ')];
}
"""

# Admin pages left out of the walk (none: the route builder's pages are checked like the rest).
ROUTE_EDITOR_PAGES: tuple[str, ...] = ()


@dataclass(frozen=True)
class Visit:
    url: str
    actor: str
    name: str


@dataclass(frozen=True)
class Failure:
    url: str
    actor: str
    width: int
    language: str
    rule: str
    impact: str
    targets: str

    def line(self) -> str:
        cells = (self.url, self.actor, self.width, self.language, f"{self.rule} ({self.impact})", self.targets)
        return "| " + " | ".join(str(cell) for cell in cells) + " |"


def actor_sessions(world: World) -> dict[str, dict[str, str] | None]:
    sessions: dict[str, dict[str, str] | None] = {}
    for actor, user in world.users.items():
        if user is None:
            sessions[actor] = None
        elif actor == "delegate":  # acting for Alice under her mandate, as in the matrix
            sessions[actor] = signed_in(user, **{SESSION_KEY: world["mandate"]}).cookies
        else:
            sessions[actor] = signed_in(user).cookies
    return sessions


def resolve(world: World, value):
    if isinstance(value, str) and value in world.ids:
        return world.ids[value]
    if isinstance(value, dict):
        return {key: resolve(world, item) for key, item in value.items()}
    return value


def matrix_candidates(world: World) -> Iterator[Visit]:
    """Every GET row, for each actor it answers 200."""
    for row in ROWS:
        if row.method != "GET":
            continue
        url = reverse(row.name, kwargs=resolve(world, row.args))
        for actor in ACTORS:
            expected = row.expect[actor]
            if expected == 200 or (isinstance(expected, frozenset) and 200 in expected):
                yield Visit(url, actor, row.name)


def admin_candidates() -> Iterator[Visit]:
    """The admin's sign-in page for anonymous visitors; its index for all staff; for the
    administrator every model's list, add page and the change page of its first object."""
    yield Visit(reverse("admin:login"), "anonymous", "admin:login")
    for actor in ("clerk_a", "clerk_b", "supervisor", "administrator"):
        yield Visit(reverse("admin:index"), actor, "admin:index")
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield Visit(reverse(f"{prefix}_changelist"), "administrator", f"{prefix}_changelist")
        if f"{prefix}_add" not in ROUTE_EDITOR_PAGES:
            yield Visit(reverse(f"{prefix}_add"), "administrator", f"{prefix}_add")
        first = model._default_manager.order_by("pk").first()
        if first is not None and f"{prefix}_change" not in ROUTE_EDITOR_PAGES:
            try:
                yield Visit(reverse(f"{prefix}_change", args=[first.pk]), "administrator", f"{prefix}_change")
            except NoReverseMatch:
                continue


def html_pages(world: World, sessions) -> dict[str, list[Visit]]:
    """The visits that answer 200 with HTML, one per (actor, set of templates rendered)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    clients: dict[str, Client] = {}
    pages: dict[str, list[Visit]] = defaultdict(list)
    only = [part for part in os.environ.get("ACCESSIBILITY_PAGES", "").split(",") if part]
    for visit in [*matrix_candidates(world), *admin_candidates()]:
        if only and not any(part in visit.url for part in only):
            continue
        client = clients.get(visit.actor)
        if client is None:
            client = clients[visit.actor] = Client()
            if sessions[visit.actor]:
                client.cookies.load(sessions[visit.actor])
        response = client.get(visit.url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        templates = frozenset(t.name for t in response.templates if t.name)
        key = (visit.actor, templates or frozenset({visit.name}))
        if key in seen:
            continue
        seen.add(key)
        pages[visit.actor].append(visit)
    return pages


def check(page, visit: Visit, language: str) -> list[Failure]:
    failures = []
    response = page.goto(visit.url, wait_until="load")
    if response is None or response.status != 200:
        status = response.status if response else "no response"
        return [Failure(visit.url, visit.actor, 0, language, f"HTTP {status}", "-", "-")]
    # The page says which language it is in (WCAG 3.1.1), and it is the one asked for.
    lang = page.evaluate("document.documentElement.lang")
    if not lang.lower().startswith(language[:2]):
        failures.append(Failure(visit.url, visit.actor, 0, language, "html lang", "-", f'lang="{lang}"'))
    page.evaluate(AXE_SOURCE.read_text())
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for violation in page.evaluate(AXE_RUN):
            failures.append(
                Failure(
                    visit.url,
                    visit.actor,
                    width,
                    language,
                    f"{violation['id']} ×{violation['count']}",
                    violation["impact"] or "-",
                    "; ".join(violation["targets"][:3]),
                )
            )
        scroll_width, inner_width, widest = page.evaluate(REFLOW)
        if scroll_width > inner_width:
            failures.append(
                Failure(visit.url, visit.actor, width, language, "reflow", "-", f"{scroll_width} px wide: {widest}")
            )
    return failures


@pytest.mark.timeout(2400)  # some 600 page loads
def test_every_html_page_of_the_matrix_passes_axe_at_both_widths_in_both_languages(browser, live_server):
    world = build_world()
    sessions = actor_sessions(world)
    pages = html_pages(world, sessions)
    failures: list[Failure] = []
    visits = 0
    for actor, visits_of_actor in pages.items():
        context = browser.new_context(base_url=live_server.url, bypass_csp=True)
        context.set_default_timeout(30_000)
        cookies = [
            {"name": name, "value": value, "url": live_server.url} for name, value in (sessions[actor] or {}).items()
        ]
        page = context.new_page()
        for language in LANGUAGES:
            context.add_cookies(
                [*cookies, {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
            )
            for visit in visits_of_actor:
                failures += check(page, visit, language)
                visits += 1
        context.close()
    if not os.environ.get("ACCESSIBILITY_PAGES"):
        assert visits > 100, f"only {visits} page loads: the matrix lost its pages?"
    if failures:
        rules = defaultdict(int)
        for failure in failures:
            rules[failure.rule.split(" ×")[0]] += 1
        table = "\n".join(failure.line() for failure in failures)
        pytest.fail(
            f"{len(failures)} accessibility failures on {visits} page loads; by rule: {json.dumps(rules)}\n"
            "| url | actor | width | language | rule | targets |\n|---|---|---|---|---|---|\n" + table,
            pytrace=False,
        )
