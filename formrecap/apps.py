from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class FormRecapConfig(AppConfig):
    name = "formrecap"
    verbose_name = "FormRecap"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the production checks
        from .models import Site, Tenant
        from .selectors import ingest_sites_forget

        # The ingest path keeps sites (with their tenant) per process for a few seconds: a change drops them here.
        for model in (Site, Tenant):
            post_save.connect(ingest_sites_forget, sender=model, dispatch_uid=f"ingest-sites-{model.__name__}-save")
            post_delete.connect(ingest_sites_forget, sender=model, dispatch_uid=f"ingest-sites-{model.__name__}-delete")
