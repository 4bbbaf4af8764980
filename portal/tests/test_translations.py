"""The Simplified Chinese catalogue: complete, current with the code, faithful to its
placeholders, compiled; and the main pages in Chinese show none of our English UI text.

The catalogue is read with a small PO parser (the project does not depend on polib).
`make messages` refreshes and compiles it; these tests say what is left to do when a
newly wrapped string has not been translated yet.
"""

import gettext
import html.parser
import io
import os
import re
import shutil
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation import gettext_noop

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# What `make messages` leaves out of the extraction; everything else at the top level is scanned.
NOT_SCANNED = {".git", ".venv", "node_modules", "var", "static", "locale"}
# Strings written the same way in both languages (names of standards, codes), on purpose.
SAME_IN_BOTH = {"API"}

# xgettext (GNU gettext 0.21) does not look inside f-string replacement fields, so
# f"<desc>{escape(_('…'))}</desc>" is translated at run time but never extracted. Such strings
# are repeated here so that makemessages (which scans this file) puts them in the catalogue;
# test_strings_inside_f_strings_are_listed_for_extraction fails when a new one is not.
# Better still: move the call out of the f-string and drop the line here.
OUTSIDE_EXTRACTION = {
    gettext_noop("No route has been set yet."),  # services/diagram.py
    gettext_noop("The steps are listed below the diagram."),  # services/diagram.py
    gettext_noop("Route"),  # workflows/progress/diagram.py
}
SOURCE_DIRS = ["accounts", "services", "documents", "workflows", "portal"]


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[index] for index in sorted(self.msgstr)]


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), f"not a PO string: {text!r}"
    return bytes(text[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def parse_po(path: Path) -> list[Entry]:
    """The live entries of a PO file (obsolete `#~` entries are skipped), header included."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if target is not None and target[0] == "msgstr":
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            if target is not None and target[0] == "msgstr":
                finish()
        elif line.startswith('"'):
            assert target is not None, f"{path}:{number}: a continuation line outside an entry"
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, (getattr(entry, kind) or "") + _unquote(line))
        else:
            keyword, _, value = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()
            if not entry.line:
                entry.line = number
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match or keyword == "msgstr":
                index = int(match.group(1)) if match else 0
                entry.msgstr[index] = _unquote(value)
                target = ("msgstr", index)
            elif keyword in ("msgid", "msgid_plural", "msgctxt"):
                setattr(entry, keyword, _unquote(value))
                target = (keyword, 0)
            else:
                raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    finish()
    return entries


def messages(path: Path = CATALOGUE) -> list[Entry]:
    return [entry for entry in parse_po(path) if entry.msgid]


PLACEHOLDER = re.compile(r"%\([a-zA-Z_][a-zA-Z0-9_]*\)[sdifr]|%[sdif]|\{[a-zA-Z_][a-zA-Z0-9_]*\}")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


def describe(entry: Entry) -> str:
    return f"line {entry.line}: {entry.msgid!r}"


# --- (a) the catalogue ------------------------------------------------------------------------


def test_the_catalogue_parses_and_has_one_plural_form():
    entries = parse_po(CATALOGUE)
    header = next(entry for entry in entries if entry.msgid == "")
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert len(messages()) > 500


def test_every_entry_is_translated_and_none_is_fuzzy():
    untranslated = [describe(e) for e in messages() if not all(t.strip() for t in e.translations) or not e.msgstr]
    fuzzy = [describe(e) for e in parse_po(CATALOGUE) if "fuzzy" in e.flags]
    assert not untranslated, "Translate these in locale/zh_Hans/LC_MESSAGES/django.po:\n" + "\n".join(untranslated)
    assert not fuzzy, "Check these fuzzy translations, then remove the fuzzy flag:\n" + "\n".join(fuzzy)


def test_plural_entries_have_exactly_one_form():
    wrong = [describe(e) for e in messages() if e.msgid_plural and sorted(e.msgstr) != [0]]
    assert not wrong, "Chinese has one plural form (msgstr[0] only):\n" + "\n".join(wrong)


def test_translations_keep_every_placeholder():
    wrong = []
    for entry in messages():
        source = placeholders(entry.msgid) | placeholders(entry.msgid_plural)
        # A plural's one Chinese form follows the plural English text (it may add the count).
        required = placeholders(entry.msgid_plural or entry.msgid)
        for text in entry.translations:
            found = placeholders(text)
            if not required <= found or not found <= source:
                wrong.append(f"{describe(entry)} → {text!r}")
    assert not wrong, "Placeholders must be kept exactly:\n" + "\n".join(wrong)


def test_translations_are_chinese():
    untouched = [
        describe(e)
        for e in messages()
        if e.msgid not in SAME_IN_BOTH
        and re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", e.msgid))
        and not any(re.search(r"[\u4e00-\u9fff]", text) for text in e.translations)
    ]
    assert not untouched, "These still read as English:\n" + "\n".join(untouched)


def test_the_compiled_catalogue_matches_the_source():
    with COMPILED.open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = []
    for entry in messages():
        if entry.msgctxt is not None:
            got = catalogue.pgettext(entry.msgctxt, entry.msgid)
        elif entry.msgid_plural:
            got = catalogue.ngettext(entry.msgid, entry.msgid_plural, 1)
        else:
            got = catalogue.gettext(entry.msgid)
        if got != entry.msgstr.get(0):
            stale.append(describe(entry))
    assert not stale, "django.mo is older than django.po: run `make messages` and commit both.\n" + "\n".join(
        stale[:20]
    )


def test_the_catalogue_holds_every_string_wrapped_in_the_code(tmp_path, monkeypatch, settings):
    """Runs makemessages over the code into a copy of the catalogue: a string wrapped since the
    last `make messages` shows up as missing here, before a Chinese reader sees it in English."""
    base = Path(settings.BASE_DIR)
    for child in base.iterdir():
        if child.name not in NOT_SCANNED:
            os.symlink(child, tmp_path / child.name)
    shutil.copytree(base / "locale", tmp_path / "locale")
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command(
        "makemessages",
        locale=["zh_Hans"],
        symlinks=True,
        ignore_patterns=["node_modules", ".venv", "var", "static"],
        verbosity=0,
    )
    fresh = {(e.msgctxt, e.msgid, e.msgid_plural) for e in messages(tmp_path / CATALOGUE.relative_to(base))}
    committed = {(e.msgctxt, e.msgid, e.msgid_plural) for e in messages()}
    missing = sorted(msgid for _, msgid, _ in fresh - committed)
    unused = sorted(msgid for _, msgid, _ in committed - fresh)
    assert not missing, "Wrapped in the code but not in the catalogue (run `make messages`, translate):\n" + "\n".join(
        missing
    )
    assert not unused, "In the catalogue but no longer in the code (run `make messages`):\n" + "\n".join(unused)


GETTEXT_CALL = re.compile(
    r"""\b(?:_|gettext|gettext_lazy|pgettext|pgettext_lazy|ngettext)\(\s*(?:"([^"]+)"|'([^']+)')"""
)


def gettext_calls_inside_f_strings() -> dict[str, str]:
    found = {}
    base = Path(settings.BASE_DIR)
    for directory in SOURCE_DIRS:
        for path in (base / directory).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                prefix = re.match(r"[A-Za-z]*", token.string).group(0).lower()  # type: ignore[union-attr]
                if token.type == tokenize.STRING and "f" in prefix:
                    for match in GETTEXT_CALL.finditer(token.string):
                        found[match.group(1) or match.group(2)] = f"{path.relative_to(base)}:{token.start[0]}"
    return found


def test_strings_inside_f_strings_are_listed_for_extraction():
    unlisted = [
        f"{where}: {msgid!r}"
        for msgid, where in gettext_calls_inside_f_strings().items()
        if msgid not in OUTSIDE_EXTRACTION
    ]
    assert not unlisted, (
        "makemessages cannot see gettext calls inside f-strings. Move them out of the f-string, or add "
        "them to OUTSIDE_EXTRACTION in portal/tests/test_translations.py:\n" + "\n".join(unlisted)
    )


# --- (b) pages in Chinese ---------------------------------------------------------------------


class VisibleText(html.parser.HTMLParser):
    """The text a reader sees or hears: text nodes and the labelling attributes."""

    HIDDEN = {"script", "style", "template", "noscript"}
    ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "aria-description"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        is_button = tag == "input" and dict(attrs).get("type") in ("submit", "button")
        for name, value in attrs:
            if value and (name in self.ATTRIBUTES or (is_button and name == "value")):
                self.chunks.append(value)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.chunks.append(data)


def visible_text(page: str) -> list[str]:
    parser = VisibleText()
    parser.feed(page)
    return [" ".join(chunk.split()) for chunk in parser.chunks]


def _english_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """One pattern per English msgid: a whole text chunk for a single word ("Search"), or a
    phrase between word boundaries for longer strings, with placeholders matching anything."""
    patterns = []
    for entry in messages():
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            text = english.replace("%%", "%").strip()
            literal = " ".join(PLACEHOLDER.sub(" ", text).split())
            # Too little English around the placeholders to tell ("%(subject)s is %(value)s").
            if len(re.findall(r"[A-Za-z]", literal)) < 4 or text in SAME_IN_BOTH:
                continue
            body = "".join(
                ".+?" if PLACEHOLDER.fullmatch(token) else r"\s+".join(map(re.escape, re.split(r"\s+", token)))
                for token in re.split(f"({PLACEHOLDER.pattern})", text)
            )
            if " " not in literal and not PLACEHOLDER.search(text):
                pattern = re.compile(rf"^\W*{body}\W*$")
            else:
                pattern = re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")
            patterns.append((english, pattern))
    return patterns


def english_left(page: str) -> list[str]:
    chunks = visible_text(page)
    return sorted({english for english, pattern in ENGLISH for chunk in chunks if pattern.search(chunk)})


ENGLISH = _english_patterns()


@pytest.fixture
def chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


@pytest.fixture
def catalogue(db, alice):
    from accounts.demo import seed_departments
    from services.demo import seed_catalogue
    from workflows.apply.demo import seed_demo_vault

    seed_departments()
    seed_catalogue()
    seed_demo_vault(alice)


@pytest.fixture
def application(catalogue, alice, django_capture_on_commit_callbacks):
    """Alice's food business licence application, routed by the real engine."""
    from services.models import Service
    from workflows.tests.factories import application_submit

    version = Service.objects.get(code="food-business-permit").versions.get(status="published")
    with django_capture_on_commit_callbacks(execute=True):
        application = application_submit(applicant=alice, version=version)
    application.refresh_from_db()
    return application


def assert_chinese(client, urls: list[str]) -> dict[str, str]:
    """Fetches each page in Chinese; returns them so a test can check what they say."""
    pages = {}
    problems = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        page = pages[url] = response.content.decode()
        assert 'lang="zh-Hans"' in page, f"{url} is not served in Chinese"
        left = english_left(page)
        if left:
            problems.append(f"{url}: " + " | ".join(left))
    assert not problems, "Untranslated English on Chinese pages:\n" + "\n".join(problems)
    return pages


@pytest.mark.django_db
def test_public_pages_in_chinese_show_no_english_ui_text(chinese, catalogue):
    assert_chinese(
        chinese,
        [
            reverse("portal:home"),
            reverse("portal:accessibility"),
            reverse("services:catalogue"),
            reverse("services:catalogue") + "?q=restaurant",
            reverse("services:service", args=["food-business-permit"]),
            reverse("services:service_eligibility", args=["food-business-permit"]),
            reverse("services:life_event", args=["open-a-restaurant"]),
            reverse("accounts:login"),
            reverse("accounts:register"),
            reverse("documents:verify_start"),
        ],
    )


@pytest.mark.django_db
def test_citizen_pages_in_chinese_show_no_english_ui_text(chinese, alice, application):
    chinese.force_login(alice)
    assert_chinese(
        chinese,
        [
            reverse("portal:home"),
            reverse("documents:vault"),
            reverse("workflows:apply-list"),
            reverse("workflows:apply-start-service", args=["food-business-permit"]),
            reverse("workflows:progress-application", args=[application.number]),
            reverse("workflows:progress-group", args=[application.group.number]),
            reverse("workflows:progress-inbox"),
            reverse("workflows:progress-preferences"),
            reverse("workflows:progress-access-log"),
        ],
    )


@pytest.mark.django_db
def test_staff_pages_in_chinese_show_no_english_ui_text(chinese, clerk_a, supervisor, application):
    from workflows.models import WorkItem

    item = WorkItem.objects.filter(application=application, department__code="market").first()
    assert item is not None
    chinese.force_login(clerk_a)
    assert_chinese(chinese, [reverse("workflows:workbench"), reverse("workflows:workbench-item", args=[item.pk])])
    chinese.force_login(supervisor)
    assert_chinese(
        chinese,
        [
            reverse("workflows:workbench"),
            reverse("workflows:workbench-supervision"),
            reverse("workflows:progress-supervision"),
        ],
    )


@pytest.mark.django_db
def test_counter_pages_in_chinese_show_no_english_ui_text(chinese, department_a, catalogue):
    from accounts.models import Role
    from accounts.tests.factories import MembershipFactory, UserFactory

    counter = MembershipFactory(
        user=UserFactory(username="counter.a", display_name="窗口一", is_staff=True),
        department=department_a,
        role=Role.COUNTER_CLERK,
    ).user
    chinese.force_login(counter)
    assert_chinese(chinese, [reverse("workflows:workbench-counter")])


@pytest.mark.django_db
def test_a_correction_in_chinese_shows_no_english_ui_text(
    chinese, alice, clerk_a, application, django_capture_on_commit_callbacks
):
    from workflows.tests.progress_support import ask_correction

    ask_correction(
        django_capture_on_commit_callbacks, application, "examine", clerk_a, message="企业名称与租赁合同不一致。"
    )
    chinese.force_login(alice)
    detail = reverse("workflows:progress-application", args=[application.number])
    correction = reverse("workflows:progress-correction", args=[application.number])
    pages = assert_chinese(
        chinese, [detail, correction, reverse("workflows:progress-withdraw", args=[application.number])]
    )
    assert "需要您处理" in pages[detail] and "企业名称与租赁合同不一致。" in pages[detail]
    assert "提交补正" in pages[correction]
    chinese.force_login(clerk_a)
    assert_chinese(
        chinese, [reverse("workflows:workbench-item", args=[application.work_items.get(step_key="examine").pk])]
    )


@pytest.mark.django_db
def test_the_not_found_page_in_chinese_shows_no_english_ui_text(chinese):
    response = chinese.get("/no-such-page/")
    assert response.status_code == 404
    assert english_left(response.content.decode()) == []
    assert "页面未找到" in response.content.decode()


def test_the_english_check_would_notice_an_untranslated_string():
    page = '<main><h1>Find a service</h1><button aria-label="Search services">搜索</button><p>第 1 页</p></main>'
    assert english_left(page) == ["Find a service", "Search services"]
    assert english_left("<p>查找服务</p><p>Noodle House</p>") == []
