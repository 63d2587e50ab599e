"""`python manage.py bootstrap` — a fresh production install made usable, idempotently (Docker runs it after migrate):

- the first operator: a superuser from FORMRECAP_ADMIN_USERNAME / FORMRECAP_ADMIN_PASSWORD (/ FORMRECAP_ADMIN_EMAIL),
  created once; an existing user keeps their password (``--reset-password`` sets it from the environment again);
- the first tenant, FORMRECAP_TENANT_NAME (default "My company"), with that operator as its owner, when there is none;
- an active embedded model, trained now (about 20 s) when none is active or its files are gone.

Without the admin variables (or with an empty password) no user is made and it says how to make one, so the
services still start; a weak password is refused naming why (the deploy stops there: the configuration is wrong).
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from formrecap.models import Membership, Tenant
from formrecap.services import tenant_create


class Command(BaseCommand):
    help = "Make a fresh install usable: the first operator, the first tenant, an active embedded model (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset-password", action="store_true", help="set the operator's password from the env")
        parser.add_argument("--no-model", action="store_true", help="do not train the embedded model here")

    def handle(self, *args, **options) -> None:
        username, password = os.environ.get("FORMRECAP_ADMIN_USERNAME", ""), os.environ.get("FORMRECAP_ADMIN_PASSWORD", "")
        with transaction.atomic():
            user = self._operator(username, password, reset=options["reset_password"]) if username else None
            if user is None and not username:
                self.stdout.write(
                    "operator: none made (set FORMRECAP_ADMIN_USERNAME and FORMRECAP_ADMIN_PASSWORD, or run "
                    "`python manage.py createsuperuser`)"
                )
            self._tenant(user)
        if not options["no_model"]:
            self._model()

    def _operator(self, username: str, password: str, *, reset: bool):
        users = get_user_model()
        user = users.objects.filter(username=username).first()
        if user is not None and not reset:
            self.stdout.write(f"operator: {username} exists (password unchanged)")
            return user
        if not password:
            self.stdout.write(f"operator: {username} not made: FORMRECAP_ADMIN_PASSWORD is empty (set it, run again)")
            return None
        try:
            validate_password(password, user=user or users(username=username))
        except ValidationError as exc:
            raise CommandError(f"FORMRECAP_ADMIN_PASSWORD is refused: {' '.join(exc.messages)}") from exc
        if user is None:
            user = users.objects.create_superuser(username, os.environ.get("FORMRECAP_ADMIN_EMAIL", ""), password)
            self.stdout.write(f"operator: {username} created (superuser)")
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"operator: {username}'s password reset")
        return user

    def _tenant(self, user) -> None:
        tenant = Tenant.objects.order_by("pk").first()
        if tenant is None:
            tenant = tenant_create(name=os.environ.get("FORMRECAP_TENANT_NAME", "").strip() or "My company")
            self.stdout.write(f"tenant: {tenant.name} ({tenant.slug}) created")
        else:
            self.stdout.write(f"tenant: {tenant.name} exists")
        if user is not None:
            _, made = Membership.all_tenants.get_or_create(tenant=tenant, user=user, defaults={"role": Membership.Role.OWNER})
            if made:
                self.stdout.write(f"membership: {user.username} owns {tenant.name}")

    def _model(self) -> None:
        from training.services import embedded_model_ensure_usable

        model_version, trained = embedded_model_ensure_usable(count=settings.FORMRECAP_EMBEDDED_TRAIN_COUNT)
        done = "trained and activated" if trained else "active"
        self.stdout.write(f"embedded model: {model_version.label} {done} (T = {model_version.temperature:.3f})")
