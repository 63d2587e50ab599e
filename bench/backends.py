"""Backend speed side by side: p50/p99 latency per trace and throughput for a batch of 100, for the in-process
embedded model, the in-process PEFT read-out and a local vLLM server (CPU build) on the same tiny adapter; then the
cascade's escalation share and latency per trace on a hand-labelled set, at several thresholds.

    .venv/bin/python bench/backends.py [--dataset training/data/hand_labelled.jsonl] [--singles 100] [--no-vllm]

The LoRA adapter is the project's own fine-tuning on the tiny local base (training/lora/tiny.py, 60 steps): its
speed, not its quality, is what is measured here (a 3B base on a GPU is another order of magnitude). DATABASE_URL
defaults to SQLite under bench/results; an embedded model is trained there when none is active. The vLLM server
needs the virtualenv `make vllm` builds (VLLM_PYTHON or .venv-vllm); without it the vLLM and cascade rows say so.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from classify import configure_environment, ensure_active_model
from servers import percentile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ADAPTER_NAME = "bench-tiny-v1"
THRESHOLDS = (0.8, 0.9, 0.95, 0.99)


def latencies_ms(backend, traces, count: int) -> list[float]:
    out = []
    for trace in traces[:count]:
        started = time.perf_counter()
        backend.classify([trace])
        out.append((time.perf_counter() - started) * 1000)
    return out


def batch_per_second(backend, traces, size: int = 100) -> float:
    batch = (traces * (size // max(1, len(traces)) + 1))[:size]
    started = time.perf_counter()
    backend.classify(batch)
    return size / (time.perf_counter() - started)


def row(name: str, backend, traces, singles: int) -> str:
    backend.classify(traces[:2])  # warm: first-call imports and caches are not what a server sees
    times = sorted(latencies_ms(backend, traces, singles))
    return (
        f"  {name:28} p50 {statistics.median(times):9.3f} ms   p99 {percentile(times, 99):9.3f} ms   "
        f"batch of 100: {batch_per_second(backend, traces):9.1f} traces/s"
    )


def tiny_adapter(folder: Path):
    """(base folder, adapter folder) trained here by the project's fine_tune on simulated traces."""
    from classifier.trace import serialise_trace, trace_from_input
    from training.datasets import stratified_split
    from training.lora.config import AdapterTrainingConfig
    from training.lora.prompt import chat_record
    from training.lora.tiny import build_tiny_model
    from training.lora.train import fine_tune
    from training.simulator import simulate_sessions

    sessions = list(simulate_sessions(300, seed=0))
    texts = [serialise_trace(trace_from_input(s.events)) for s in sessions]
    base = build_tiny_model(folder / "base", traces=texts, hidden_size=128)  # head_dim 32: vLLM's CPU attention
    examples = [{"events": text, "label": s.label, "reason": "bench"} for text, s in zip(texts, sessions, strict=True)]
    splits = stratified_split(examples, seed=0)
    records = {p: [chat_record(e["events"], e["label"], e["reason"], 0.9) for e in splits[p]] for p in splits}
    config = AdapterTrainingConfig(
        base_model=str(base), profile="cloudflare", rank=16, max_steps=60, learning_rate=3e-2,
        per_device_batch_size=8, gradient_accumulation_steps=1, max_length=192,
    )  # fmt: skip
    finished = fine_tune(config, train=records["train"], validation=records["validation"], output_dir=folder / "run")
    return base, finished.adapter_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=REPO / "training" / "data" / "hand_labelled.jsonl")
    parser.add_argument("--singles", type=int, default=100, help="traces timed one at a time per backend")
    parser.add_argument("--no-vllm", action="store_true", help="skip the vLLM server (and the cascade rows)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the figures
    notes = configure_environment()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from classifier.backends import get_backend
    from classifier.backends.cascade import CascadeBackend
    from training.labelled import read_examples
    from training.models import ModelVersion

    embedded_version, how = ensure_active_model()
    notes.append(f"embedded model {embedded_version.label}: {how}")
    examples, _ = read_examples(args.dataset)
    traces = [e.trace for e in examples]
    print(f"backends on {len(traces)} traces of {args.dataset.name} ({os.cpu_count()} CPUs)")
    for note in notes:
        print(f"  note: {note}")
    print(row("embedded (in-process)", get_backend("embedded"), traces, args.singles), flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        base, adapter = tiny_adapter(Path(scratch))
        print(f"  note: tiny base + adapter trained in {time.perf_counter() - started:.0f} s (60 steps)")
        ModelVersion.objects.filter(kind=ModelVersion.Kind.LORA, name="bench-tiny").delete()
        lora = ModelVersion.objects.create(
            kind=ModelVersion.Kind.LORA, name="bench-tiny", version=1, artifact_uri=str(adapter), temperature=1.0,
            training_config={"base_model": str(base)}, status=ModelVersion.Status.ACTIVE,
            deployments={"vllm": {"name": ADAPTER_NAME}},
        )  # fmt: skip
        try:
            print(row("peft (in-process, CPU)", get_backend("peft", model_version_id=lora.pk), traces, args.singles), flush=True)
            if args.no_vllm:
                print("  vllm, cascade: skipped (--no-vllm)")
                return
            vllm_rows(base, adapter, traces, examples, lora, args.singles, scratch, get_backend, CascadeBackend)
        finally:
            lora.delete()  # its folder goes with the scratch directory: leave no active adapter pointing nowhere


def vllm_rows(base, adapter, traces, examples, lora, singles, scratch, get_backend, cascade_backend) -> None:
    from django.conf import settings

    from tests.classifier.vllm_server import start_vllm_server

    try:
        server = start_vllm_server(
            base_model=base, adapters={ADAPTER_NAME: adapter}, max_lora_rank=16, log_path=Path(scratch) / "vllm.log"
        )
    except RuntimeError as exc:
        print(f"  vllm, cascade: skipped ({str(exc).splitlines()[0]})")
        return
    try:
        settings.FORMRECAP_VLLM_BASE_URL = f"{server.url}/v1/"
        print(f"  note: vLLM server (CPU) ready in {server.started_in_s:.0f} s")
        print(row("vllm (local server, CPU)", get_backend("vllm", model_version_id=lora.pk), traces, singles), flush=True)
        print("  cascade (embedded, then vllm below the threshold):")
        for threshold in THRESHOLDS:
            cascade = cascade_backend(threshold=threshold, escalate_to="vllm")
            started = time.perf_counter()
            results = cascade.classify(traces)
            per_trace = (time.perf_counter() - started) * 1000 / len(traces)
            escalated = sum(1 for r in results if r.routing.get("escalated"))
            answered = sum(1 for r in results if r.routing["answered_by"] == "vllm")
            print(
                f"    threshold {threshold:.2f}: {escalated / len(results):6.1%} escalated "
                f"({answered} answered by vLLM), {per_trace:8.3f} ms per trace"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
