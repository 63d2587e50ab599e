"""`python manage.py publish_cloudflare_adapter --model-version ID [--name NAME] [--json]`

Publishes a registered LoRA adapter to Cloudflare Workers AI (training/cloudflare_publish.py): checks it against
the cloudflare profile's limits first (rank ≤ 32, adapter < 300 MB, a base in FORMRECAP_CLOUDFLARE_BASE_MODELS,
plain LoRA), then creates the finetune, uploads adapter_config.json (with model_type) and adapter_model.safetensors,
and records the finetune id on the model version, where the `cloudflare` backend finds it.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from classifier.backends import BackendUnavailable
from training.cloudflare_publish import model_version_publish_cloudflare
from training.lora.config import ConfigError
from training.models import ModelVersion


class Command(BaseCommand):
    help = "Publish a LoRA adapter to Cloudflare Workers AI (finetune + assets) and record the finetune id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model-version", type=int, required=True, help="the LoRA model version to publish")
        parser.add_argument("--name", help="finetune name (default formrecap-<name>-v<version>)")
        parser.add_argument("--json", action="store_true", help="print the deployment record as one JSON object")

    def handle(self, *args, **options) -> None:
        model_version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if model_version is None:
            raise CommandError(f"no model version {options['model_version']}")
        try:
            model_version = model_version_publish_cloudflare(model_version=model_version, name=options.get("name"))
        except ConfigError as exc:
            raise CommandError(f"not published, nothing was sent: {exc}") from exc
        except BackendUnavailable as exc:
            raise CommandError(f"not published: {exc}") from exc
        record = model_version.deployments["cloudflare"]
        if options["json"]:
            self.stdout.write(json.dumps(record))
            return
        self.stdout.write(
            f"published {model_version.label} to Cloudflare Workers AI as finetune {record['finetune_id']} "
            f"({record['name']}) on {record['model']}; serve it with --backend cloudflare --model-version {model_version.pk}"
        )
