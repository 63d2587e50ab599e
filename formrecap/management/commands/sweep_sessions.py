"""`python manage.py sweep_sessions [--loop SECONDS]`: the inactivity sweep without Celery beat.

The embedded setup (`make run`) has no beat process, so it runs this in a loop beside the server.
"""

import time

from django.core.management.base import BaseCommand

from formrecap.ingest.services import sweep_inactive_sessions


class Command(BaseCommand):
    help = "Mark in-progress sessions abandoned once idle past their site's timeout."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", type=int, default=0, metavar="SECONDS", help="repeat every SECONDS (0: once)")

    def handle(self, *args, loop: int, **options) -> None:
        from classifier.tasks import classify_unclassified_task
        from recovery.tasks import dispatch_due_task

        while True:
            count = sweep_inactive_sessions()
            if count or not loop:
                self.stdout.write(f"abandoned {count} inactive session(s)")
            # Without beat this loop also runs the catch-up, so a session missed while no model was usable
            # is classified once one is.
            caught_up = classify_unclassified_task.apply().get()
            if caught_up:
                self.stdout.write(f"classified {caught_up} session(s) that had no prediction")
            # …and the recovery dispatcher, so delayed actions and retries run in the embedded setup too.
            dispatch_due_task.apply()
            if not loop:
                return
            time.sleep(loop)
