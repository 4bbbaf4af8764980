"""`manage.py rotate_signing_ca <department code>`: a new issuing CA key for a department."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Department
from documents.certificates import department_ca_rotate
from documents.signing import SigningUnavailable


class Command(BaseCommand):
    help = (
        "Gives a department a new issuing CA key and certificate: certificates issued from now on are "
        "signed under it; those signed before stay valid on /verify/ and can still be revoked. Restart "
        "the web and worker processes afterwards (each keeps the department's CA in memory)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("department", help="The department's code, e.g. market.")

    def handle(self, *args: object, **options: Any) -> None:
        department = Department.objects.filter(code=options["department"]).first()
        if department is None:
            codes = ", ".join(Department.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"No department with the code {options['department']!r} (there are: {codes}).")
        try:
            before, after = department_ca_rotate(department=department)
        except SigningUnavailable as error:
            raise CommandError(f"The CA of {department.code} was not rotated: {error}") from error
        self.stdout.write(f"{department.code}: certificates are now signed under {after}")
        self.stdout.write(f"{department.code}: kept to check and revoke what it signed: {before}")
        self.stdout.write("Restart the web and worker processes so that they sign under the new key.")
