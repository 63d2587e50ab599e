"""Builders for the training tests: run configs for the tiny base, operator-labelled sessions."""

from pathlib import Path

from classifier.models import SessionLabel
from formrecap.models import Site
from tests.classifier.helpers import recorded_session
from training.lora.config import AdapterTrainingConfig
from training.simulator import simulate_sessions


def tiny_config(tiny_base: Path, **double) -> AdapterTrainingConfig:
    """A 3-step config for the tiny base; ``double`` scripts how the Modal double answers for this run."""
    return AdapterTrainingConfig(
        base_model=str(tiny_base),
        max_steps=3,
        per_device_batch_size=4,
        gradient_accumulation_steps=1,
        modules_to_save=["lm_head"],
        extra={"modal_double": double} if double else {},
    )


def labelled_sessions(site: Site, count: int, *, seed: int = 0) -> list[SessionLabel]:
    """``count`` recorded sessions (simulated visitors, each different) labelled by an operator."""
    labels = []
    for simulated in simulate_sessions(count, seed=seed):
        session = recorded_session(site, simulated.events)
        labels.append(SessionLabel.all_tenants.create(tenant=site.tenant, session=session, code=simulated.label))
    return labels
