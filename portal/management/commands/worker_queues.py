from django.core.management.base import BaseCommand

from accounts.models import Department


class Command(BaseCommand):
    help = "Prints the comma-separated Celery queues a worker serving every department listens on."

    def handle(self, *args: object, **options: object) -> None:
        queues = ["default", "transparency", *(d.queue for d in Department.objects.order_by("code"))]
        self.stdout.write(",".join(queues))
