"""Prints the current code of a demo staff member's authenticator app (development only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_AUTHENTICATOR, demo_authenticator_code
from accounts.models import User


class Command(BaseCommand):
    help = "The code a demo staff member's demo authenticator app shows now (never in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="a demo log-in name, e.g. clerk.market")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("There are no demo authenticators in production.")
        user = User.objects.filter(username=options["username"]).first()
        device = TOTPDevice.objects.filter(user=user, name=DEMO_AUTHENTICATOR).first() if user else None
        if device is None:
            raise CommandError(f"{options['username']} has no demo authenticator (run manage.py seed_demo).")
        self.stdout.write(demo_authenticator_code(device))
