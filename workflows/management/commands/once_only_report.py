"""`manage.py once_only_report <life-event>`: the headline "one time" figure (DESIGN §1).

How many questions and documents the separate services' forms ask added up, how many the one
merged form asks, and how many a citizen with a verified profile and a filled vault (Alice,
after seed_demo) still has to type or upload, split into *new facts* (the state cannot know
them: a baby's name, a new shop's floor area) and *known facts* (a register holds them, or a
department issued the document). The goal of "once only" is no known fact typed and no known
document uploaded.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from services.selectors import life_event_by_code, life_event_versions
from workflows.apply.selectors import once_only_figures

SOURCES = {
    "verified": "verified profile and registers",
    "role": "the applicant's role (verified identity)",
    "derived": "worked out from another answer",
    "previous": "an earlier approved application",
    "bundle": "another service of the bundle, on its approval",
}


class Command(BaseCommand):
    help = "Prints the once-only figures of a life event (fields and documents asked, and still to give)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("life_events", nargs="+", metavar="life-event", help="life event code(s)")
        parser.add_argument("--citizen", default="alice", help="log-in name of the citizen (default: alice)")

    def handle(self, *args: object, **options) -> None:
        citizen = User.objects.filter(username=options["citizen"]).first()
        if citizen is None:
            raise CommandError(f"No user {options['citizen']!r}: run `manage.py seed_demo` first.")
        for code in options["life_events"]:
            life_event = life_event_by_code(code)
            if life_event is None:
                raise CommandError(f"No life event {code!r}.")
            figures = once_only_figures(versions=life_event_versions(life_event), user=citizen)
            name = citizen.name
            self.stdout.write(f"{life_event.name_en} ({code}): {len(figures.services)} services")
            for service in figures.services:
                self.stdout.write(f"  - {service}")
            self.stdout.write(f"  {'':<44}{'fields':>8}{'documents':>11}")
            rows = [
                ("separate services' forms, added up", figures.separate_fields, figures.separate_materials),
                ("one merged form asks", figures.merged_fields, figures.merged_materials),
                (f"{name} still types / uploads", figures.to_type, figures.to_upload),
                ("  new facts (the state cannot know them)", len(figures.new_facts), len(figures.new_documents)),
                (
                    "  known facts (the state holds them)",
                    len(figures.known_facts_typed),
                    len(figures.known_documents_uploaded),
                ),
            ]
            for label, fields, materials in rows:
                self.stdout.write(f"  {label:<44}{fields:>8}{materials:>11}")
            self.stdout.write(
                f"  (of the merged form, {figures.conditional_fields} field(s) and {figures.conditional_materials} "
                "document(s) are asked only when their condition holds; counted above)"
            )
            if figures.roles:
                self.stdout.write(f"  {name} answers yes to: {'; '.join(figures.roles)}")
            self.stdout.write(f"  New facts typed: {'; '.join(figures.new_facts) or 'none'}")
            self.stdout.write(f"  New documents uploaded: {'; '.join(figures.new_documents) or 'none'}")
            self.stdout.write(f"  Known facts typed: {'; '.join(figures.known_facts_typed) or 'none'}")
            self.stdout.write(f"  Known documents uploaded: {'; '.join(figures.known_documents_uploaded) or 'none'}")
            answered = ", ".join(
                f"{count} from {SOURCES.get(source, source)}" for source, count in figures.answered_by_state.items()
            )
            self.stdout.write(f"  Not typed, the state gives them: {answered or 'none'}")
            self.stdout.write("")
