"""Write the field figures of ended sessions that have none (after an import, a restore, or a lost task)."""

from django.core.management.base import BaseCommand

from analytics.selectors import sessions_without_field_stats
from analytics.services import session_fields_summarise
from formrecap.models import Tenant


class Command(BaseCommand):
    help = "Write field figures for ended (submitted or abandoned) sessions that have none; --all rewrites every one."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug).")
        parser.add_argument("--all", action="store_true", help="Rewrite every ended session's figures.")

    def handle(self, *args, tenant=None, all=False, **options):
        tenants = Tenant.objects.all()
        if tenant is not None:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                self.stderr.write(f"no tenant with slug {tenant!r}")
                raise SystemExit(2)
        sessions = rows = 0
        for each in tenants:
            for session_id in sessions_without_field_stats(tenant=each, include_summarised=all):
                rows += session_fields_summarise(tenant=each, session_id=session_id)
                sessions += 1
        self.stdout.write(f"{sessions} session(s) summarised, {rows} field row(s) written")
