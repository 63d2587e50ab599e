"""Builders for the training tests: run configs for the tiny base, operator-labelled sessions, held-out metrics."""

from pathlib import Path

from classifier.models import SessionLabel
from formrecap.models import Site
from tests.classifier.helpers import recorded_session
from training.held_out import METRICS_KEY, held_out_sets_available
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


def held_out_metrics(macro_f1: float, ece: float, *, n: int = 96) -> dict:
    """``metrics`` of a model measured on every held-out set available now (their current files)."""
    return {
        METRICS_KEY: {
            s.name: {"n": n, "macro_f1": macro_f1, "ece": ece, "set": s.name, "sha256": s.sha256}
            for s in held_out_sets_available()
        }
    }
