"""WCAG 2.2 AA on every page of the authorisation matrix that renders HTML.

Every GET row of tests/authz_matrix.py that answers 200 to some actor, and the admin site (its
index, every model's list, add page and one object's change page), is opened in Chromium by each
actor who gets 200, in English and in Chinese, at 1280 and at 320 CSS pixels. On each, axe-core
runs with every rule that tests WCAG 2.0/2.1/2.2 A or AA, or a best practice (the experimental
ones included), and a violation of any impact fails; and the page may not be wider than the
window (WCAG 1.4.10 reflow). All failures are listed together, as a table.

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
from tests.support.browser import AXE_SOURCE
from workflows.delegation.acting import SESSION_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 320)
LANGUAGES = ("en", "zh-hans")

# The rules that run: all of axe's rules except those for AAA only (WCAG's enhanced levels are
# not our target) and the deprecated ones (duplicate-id tests the obsolete WCAG 4.1.1).
# `runOnly` by rule also runs the experimental rules axe leaves off by default.
AXE_RUN = """
async () => {
  const aaaOnly = (tags) => tags.some(t => /^wcag2aaa$|^wcag21aaa$|^wcag22aaa$/.test(t))
    && !tags.some(t => /^wcag2a$|^wcag2aa$|^wcag21a$|^wcag21aa$|^wcag22a$|^wcag22aa$/.test(t));
  const rules = axe.getRules()
    .filter(r => !r.tags.includes('deprecated') && !aaaOnly(r.tags))
    .map(r => r.ruleId);
  const result = await axe.run(document, {
    runOnly: {type: 'rule', values: rules},
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}
"""

# The route editor of a service version is built separately; its own browser test checks it.
ROUTE_EDITOR_PAGES = ("admin:services_serviceversion_add", "admin:services_serviceversion_change")


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
        return f"| {self.url} | {self.actor} | {self.width} | {self.language} | {self.rule} ({self.impact}) | {self.targets} |"


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
                    "; ".join(violation["targets"]),
                )
            )
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        inner_width = page.evaluate("window.innerWidth")
        if scroll_width > inner_width:
            failures.append(
                Failure(visit.url, visit.actor, width, language, "reflow", "-", f"{scroll_width} px wide")
            )
    return failures


@pytest.mark.timeout(1800)
def test_every_html_page_of_the_matrix_passes_axe_at_both_widths_in_both_languages(browser, live_server):
    import sys, time
    t0 = time.monotonic()
    world = build_world()
    sessions = actor_sessions(world)
    print("world", time.monotonic() - t0, file=sys.stderr)
    pages = html_pages(world, sessions)
    print("pages", time.monotonic() - t0, {a: len(v) for a, v in pages.items()}, file=sys.stderr)
    failures: list[Failure] = []
    visits = 0
    for actor, visits_of_actor in pages.items():
        context = browser.new_context(base_url=live_server.url, bypass_csp=True)
        context.set_default_timeout(30_000)
        cookies = [{"name": name, "value": value, "url": live_server.url} for name, value in (sessions[actor] or {}).items()]
        page = context.new_page()
        for language in LANGUAGES:
            context.add_cookies([*cookies, {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
            for visit in visits_of_actor:
                t1 = time.monotonic()
                failures += check(page, visit, language)
                print(f"{time.monotonic() - t1:.2f} {actor} {language} {visit.url}", file=sys.stderr)
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
