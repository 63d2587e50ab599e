from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training and model versions"
    default_auto_field = "django.db.models.BigAutoField"
