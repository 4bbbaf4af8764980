from django.core.management.base import BaseCommand

from portal.demo import seed_demo


class Command(BaseCommand):
    help = "Creates the demo departments, catalogue and accounts. Running it twice changes nothing."

    def handle(self, *args: object, **options: object) -> None:
        for line in seed_demo():
            self.stdout.write(line)
