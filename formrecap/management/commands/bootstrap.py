"""`python manage.py bootstrap` — a fresh production install made usable, idempotently (Docker runs it after migrate):

- the first operator: a superuser from FORMRECAP_ADMIN_USERNAME / FORMRECAP_ADMIN_PASSWORD (/ FORMRECAP_ADMIN_EMAIL),
  created once; an existing user keeps their password (``--reset-password`` sets it from the environment again);
- the first tenant, ``--tenant`` or FORMRECAP_TENANT_NAME (default "My company"), with that operator as its owner,
  when there is none;
- with ``--site NAME --origin URL…`` (or FORMRECAP_SITE_NAME / FORMRECAP_SITE_ORIGINS, comma-separated) a site of that
  tenant (origins added to an existing one, never dropped) and a read+write API key, whose secret is printed once,
  when it is made; the install tag is printed every time;
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

from formrecap.models import ApiKey, Membership, Site, Tenant
from formrecap.services import api_key_create, normalise_origin, site_create, tenant_create
from formrecap.snippet import install_tag

BOOTSTRAP_KEY_NAME = "bootstrap"


class Command(BaseCommand):
    help = "Make a fresh install usable: the first operator, the first tenant, an active embedded model (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset-password", action="store_true", help="set the operator's password from the env")
        parser.add_argument("--no-model", action="store_true", help="do not train the embedded model here")
        parser.add_argument("--tenant", default=None, help="the first tenant's name (default: $FORMRECAP_TENANT_NAME)")
        parser.add_argument("--admin-username", default=None, help="default: $FORMRECAP_ADMIN_USERNAME")
        parser.add_argument("--admin-email", default=None, help="default: $FORMRECAP_ADMIN_EMAIL")
        parser.add_argument("--site", default=None, help="a site of the tenant (default: $FORMRECAP_SITE_NAME)")
        parser.add_argument(
            "--origin", action="append", default=None, help="an origin the site's pages are served from (repeatable)"
        )

    def handle(self, *args, **options) -> None:
        env = os.environ.get
        username = options["admin_username"] or env("FORMRECAP_ADMIN_USERNAME", "")
        password = env("FORMRECAP_ADMIN_PASSWORD", "")
        email = options["admin_email"] or env("FORMRECAP_ADMIN_EMAIL", "")
        tenant_name = (options["tenant"] or env("FORMRECAP_TENANT_NAME", "")).strip() or "My company"
        site_name = (options["site"] or env("FORMRECAP_SITE_NAME", "")).strip()
        origins = options["origin"] or [o for o in env("FORMRECAP_SITE_ORIGINS", "").split(",") if o.strip()]
        if origins and not site_name:
            raise CommandError("--origin needs --site (the site the origins belong to)")
        if site_name and not origins:
            raise CommandError(f"--site {site_name!r} needs at least one --origin, e.g. --origin https://shop.example.com")
        try:
            origins = sorted({normalise_origin(origin) for origin in origins})
        except ValidationError as exc:
            raise CommandError(f"--origin: {' '.join(exc.messages)}") from exc
        with transaction.atomic():
            user = self._operator(username, password, email, reset=options["reset_password"]) if username else None
            if user is None and not username:
                self.stdout.write(
                    "operator: none made (set FORMRECAP_ADMIN_USERNAME and FORMRECAP_ADMIN_PASSWORD, or run "
                    "`python manage.py createsuperuser`)"
                )
            tenant = self._tenant(user, tenant_name)
            if site_name:
                self._site(tenant, site_name, origins, user)
        if not options["no_model"]:
            self._model()

    def _operator(self, username: str, password: str, email: str, *, reset: bool):
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
            user = users.objects.create_superuser(username, email, password)
            self.stdout.write(f"operator: {username} created (superuser)")
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"operator: {username}'s password reset")
        return user

    def _tenant(self, user, name: str) -> Tenant:
        tenant = Tenant.objects.order_by("pk").first()
        if tenant is None:
            tenant = tenant_create(name=name)
            self.stdout.write(f"tenant: {tenant.name} ({tenant.slug}) created")
        else:
            self.stdout.write(f"tenant: {tenant.name} exists")
        if user is not None:
            _, made = Membership.all_tenants.get_or_create(tenant=tenant, user=user, defaults={"role": Membership.Role.OWNER})
            if made:
                self.stdout.write(f"membership: {user.username} owns {tenant.name}")
        return tenant

    def _site(self, tenant: Tenant, name: str, origins: list[str], user) -> None:
        site = Site.objects.for_tenant(tenant).filter(name=name).first()
        if site is None:
            site = site_create(tenant=tenant, name=name, allowed_origins=origins)
            self.stdout.write(f"site: {name} created for {', '.join(origins)}")
        elif missing := [origin for origin in origins if origin not in site.allowed_origins]:
            site.allowed_origins = sorted({*site.allowed_origins, *missing})
            site.save(update_fields=["allowed_origins"])
            self.stdout.write(f"site: {name} exists; origins added: {', '.join(missing)}")
        else:
            self.stdout.write(f"site: {name} exists")
        host = settings.FORMRECAP_PUBLIC_ORIGIN or "https://YOUR-FORMRECAP-HOST"
        self.stdout.write(f"install tag: {install_tag(origin=host, site_key=site.site_key)}")
        keys = ApiKey.objects.for_tenant(tenant).filter(name=BOOTSTRAP_KEY_NAME, revoked_at__isnull=True)
        if keys.exists():
            self.stdout.write(f"API key: {BOOTSTRAP_KEY_NAME} exists (its secret was printed once; revoke it to get another)")
            return
        issued = api_key_create(tenant=tenant, name=BOOTSTRAP_KEY_NAME, scopes=("read", "write"), created_by=user)
        self.stdout.write(f"API key: {issued.secret} (read, write; shown this once: keep it now)")

    def _model(self) -> None:
        from training.services import embedded_model_ensure_usable

        model_version, trained = embedded_model_ensure_usable(count=settings.FORMRECAP_EMBEDDED_TRAIN_COUNT)
        done = "trained and activated" if trained else "active"
        self.stdout.write(f"embedded model: {model_version.label} {done} (T = {model_version.temperature:.3f})")
