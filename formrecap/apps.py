from django.apps import AppConfig


class FormRecapConfig(AppConfig):
    name = "formrecap"
    verbose_name = "FormRecap"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the production checks
