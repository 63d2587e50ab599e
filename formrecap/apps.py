from django.apps import AppConfig


class FormRecapConfig(AppConfig):
    name = "formrecap"
    verbose_name = "FormRecap"
