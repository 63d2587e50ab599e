"""`python manage.py seed_demo [--json]`: create or refresh the demo tenant and print its credentials."""

import json
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from formrecap.demo import demo_seed


class Command(BaseCommand):
    help = "Create (idempotently) the demo tenant, operator, site and API key, and print the credentials."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        parser.add_argument("--origin", action="append", help="allowed origin for the demo site (repeatable)")
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default=None, help="default: $FORMRECAP_DEMO_PASSWORD or 'formrecap-demo'")
        parser.add_argument("--skip-model", action="store_true", help="do not train an embedded model when none is active")
        parser.add_argument(
            "--traffic",
            type=int,
            default=0,
            help="seed this many simulated sessions over the last 30 days (once) on a 'Simulated traffic' site",
        )

    def handle(self, *args, **options) -> None:
        origin = settings.FORMRECAP_DEMO_ORIGIN
        origins = options["origin"] or [origin, origin.replace("127.0.0.1", "localhost")]
        password = options["password"] or settings.FORMRECAP_DEMO_PASSWORD
        creds = demo_seed(origins=origins, username=options["username"], password=password)
        if not options["skip_model"]:
            self._ensure_embedded_model(quiet=options["json"])
        if options["traffic"] > 0:
            self._seed_traffic(options["traffic"], skip_model=options["skip_model"], quiet=options["json"])
        if options["json"]:
            self.stdout.write(json.dumps(creds.as_dict()))
            return
        base = origin.rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    "FormRecap demo is ready:",
                    f"  admin       {base}/admin/   login {creds.admin_username} / {creds.admin_password}",
                    f"  demo page   {base}/demo/",
                    f"  API docs    {base}/api/docs/",
                    f"  site key    {creds.site_key}",
                    f"  API key     {creds.api_key}",
                    f"  try it      curl -H 'Authorization: Bearer {creds.api_key}' {base}/api/v1/sessions/",
                ]
            )
        )

    def _seed_traffic(self, count: int, *, skip_model: bool, quiet: bool) -> None:
        from formrecap.demo import DEMO_TENANT_SLUG
        from formrecap.demo_traffic import demo_traffic_seed
        from formrecap.models import Tenant

        if skip_model:
            raise CommandError("--traffic needs a model to classify the sessions: drop --skip-model")
        # Eager tasks log a line each: hundreds of sessions would bury the credentials printed next.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        seeded = demo_traffic_seed(tenant=Tenant.objects.get(slug=DEMO_TENANT_SLUG), sessions=count)
        if seeded and not quiet:
            self.stderr.write(f"Seeded {seeded} simulated sessions over the last 30 days (site 'Simulated traffic')")

    def _ensure_embedded_model(self, *, quiet: bool) -> None:
        from training.services import embedded_model_ensure_usable

        model_version, trained = embedded_model_ensure_usable(count=settings.FORMRECAP_EMBEDDED_TRAIN_COUNT)
        if trained and not quiet:
            self.stderr.write(
                f"Trained and activated the embedded model {model_version.label} (T = {model_version.temperature:.3f})"
            )
