"""The Claude generator: one labelled example per Messages API call, appended to a resumable ``claude.jsonl``.

Every answer is validated, exact and near duplicates of earlier answers (this run, or the file being resumed)
are rejected, transient API errors are retried with exponential backoff, and ``claude_manifest.json`` keeps the
cumulative counts, tokens and estimated cost.
"""

import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anthropic

from classifier.labels import CLASSES
from classifier.trace import TraceError, parse_trace, serialise_trace
from training.datasets import structural_key

from .answers import InvalidAnswer, jitter_trace, read_answer
from .prompts import PromptPlan, plan_prompt
from .tally import Tally

DEFAULT_MODEL = "claude-haiku-4-5"
# Claude Haiku 4.5 list prices, USD per million tokens.
DEFAULT_INPUT_USD_PER_MTOK = 1.0
DEFAULT_OUTPUT_USD_PER_MTOK = 5.0
RECORDS_FILE = "claude.jsonl"
MANIFEST_FILE = "claude_manifest.json"
CALLS_PER_EXAMPLE = 3  # default --max-calls: 3 calls per missing example


@dataclass(frozen=True)
class GeneratorConfig:
    count: int  # examples the file should hold when done (earlier runs included)
    out: Path
    model: str = DEFAULT_MODEL
    seed: int = 0
    max_calls: int | None = None  # answered calls this run may make; None: CALLS_PER_EXAMPLE x the examples missing
    mix: dict[int, float] = field(default_factory=lambda: dict.fromkeys(CLASSES, 1.0))  # class code -> weight
    max_attempts: int = 5  # per call, the first try included
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    input_usd_per_mtok: float = DEFAULT_INPUT_USD_PER_MTOK
    output_usd_per_mtok: float = DEFAULT_OUTPUT_USD_PER_MTOK
    max_output_tokens: int = 1024


class GenerationError(RuntimeError):
    """The run cannot go on (API refused, retries exhausted, unreadable output file); what was written stays."""


@dataclass(frozen=True)
class RunResult:
    run: Tally  # this run only
    manifest: dict  # cumulative, as written
    stopped: str | None  # why the run ended before the count was reached, or None


class ClaudeGenerator:
    def __init__(self, config: GeneratorConfig, *, client: anthropic.Anthropic, sleep: Callable[[float], None] = time.sleep):
        self.config, self.client, self.sleep = config, client, sleep
        self.records_path = config.out / RECORDS_FILE
        self.manifest_path = config.out / MANIFEST_FILE
        self.records = _read_records(self.records_path)
        self.earlier, self.runs = _read_manifest(self.manifest_path)
        self.run = Tally()
        self.exact_seen: set[str] = set()
        self.shapes_seen: set[tuple] = set()
        for number, record in enumerate(self.records, start=1):
            try:
                self._remember(parse_trace(record.get("answer_trace", record["trace"])))
            except (KeyError, TraceError) as exc:
                raise GenerationError(f"{self.records_path}:{number}: no readable trace ({exc})") from None
        # Resumed runs draw fresh prompts rather than the first run's again, even if the manifest was lost.
        self._calls_before = max(self.earlier.calls, len(self.records))
        self.class_counts = Counter(record["class"] for record in self.records)
        self._digest = hashlib.sha256(self.records_path.read_bytes() if self.records_path.exists() else b"")
        self._backoff_rng = random.Random(f"{config.seed}:backoff")
        self._previous_primers = None

    @property
    def missing(self) -> int:
        return max(0, self.config.count - len(self.records))

    def generate(self, progress=None) -> RunResult:
        """Call until the file holds ``count`` examples or the call budget is spent; ``progress`` is a tqdm bar."""
        budget = self.config.max_calls or CALLS_PER_EXAMPLE * self.missing
        stopped = None
        self.config.out.mkdir(parents=True, exist_ok=True)
        try:
            while self.missing:
                if self.run.calls >= budget:
                    stopped = (
                        f"stopped after {self.run.calls} API calls (--max-calls {budget}) with {len(self.records)} of "
                        f"{self.config.count} examples; run again to continue"
                    )
                    break
                if self._one_call() and progress is not None:
                    progress.update(1)
                if progress is not None:
                    progress.set_postfix_str(self._postfix(), refresh=False)
                self._write_manifest(stopped=None)
        except GenerationError as exc:
            stopped = f"failed: {exc}"
            raise
        finally:
            manifest = self._write_manifest(stopped=stopped)
        return RunResult(self.run, manifest, stopped)

    # --- one call ---------------------------------------------------------------------------------

    def _one_call(self) -> bool:
        """Ask for one example; True when it was accepted and appended."""
        rng = random.Random(f"{self.config.seed}:{self._calls_before + self.run.calls}")
        plan = plan_prompt(rng, self._next_class(rng), self._previous_primers)
        self._previous_primers = plan.primers
        message = self._create(plan)
        self.run.calls += 1
        self.run.add_usage(
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            input_usd_per_mtok=self.config.input_usd_per_mtok,
            output_usd_per_mtok=self.config.output_usd_per_mtok,
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        try:
            answer = read_answer(text, stop_reason=message.stop_reason, target=plan.target)
        except InvalidAnswer as exc:
            self.run.invalid[exc.reason] += 1
            return False
        if serialise_trace(answer.trace) in self.exact_seen:
            self.run.exact_duplicates += 1
            return False
        if structural_key(answer.trace) in self.shapes_seen:
            self.run.near_duplicates += 1
            return False
        self._remember(answer.trace)
        self._append(
            {
                "id": f"claude-{self.config.seed}-{len(self.records)}",
                "label": next(code for code, name in CLASSES.items() if name == answer.cls),
                "class": answer.cls,
                "trace": serialise_trace(jitter_trace(answer.trace, rng)),
                "reason": answer.reason,
                "confidence": answer.confidence,
                "form_type": plan.form.form_type,
                "model": message.model,
                "prompt_hash": plan.prompt_hash,
                "answer_trace": serialise_trace(answer.trace),  # before jitter: what duplicates are judged on
            }
        )
        self.run.accepted += 1
        return True

    def _next_class(self, rng: random.Random) -> str:
        """The class furthest below its share of the mix (ties drawn at random), so rejections do not skew it."""
        mix, next_total = self.config.mix, len(self.records) + 1
        share = {CLASSES[code]: weight / sum(mix.values()) for code, weight in mix.items()}
        deficit = {name: fraction * next_total - self.class_counts[name] for name, fraction in share.items()}
        most = max(deficit.values())
        return rng.choice(sorted(name for name, value in deficit.items() if value >= most - 1e-9))

    def _create(self, plan: PromptPlan):
        """One Messages API call; 429, 5xx and connection errors are retried with backoff up to max_attempts."""
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                return self.client.messages.create(
                    model=self.config.model,
                    max_tokens=self.config.max_output_tokens,
                    system=plan.system,
                    messages=[{"role": "user", "content": plan.user}],
                )
            except anthropic.RateLimitError as exc:
                cause, error = "rate_limit", exc
            except anthropic.APIStatusError as exc:
                if exc.status_code < 500:
                    raise GenerationError(f"the Anthropic API refused the request: {exc}") from exc
                cause, error = "server_error", exc
            except anthropic.APIConnectionError as exc:
                cause, error = "connection", exc
            if attempt == self.config.max_attempts:
                raise GenerationError(f"giving up after {attempt} attempts ({cause}): {error}") from error
            self.run.retries[cause] += 1
            self.sleep(self._backoff(attempt, error))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, error: Exception) -> float:
        """Exponential with jitter (half to full of base x 2^(attempt-1), capped), at least what retry-after asks."""
        delay = min(self.config.backoff_cap_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return max(delay * self._backoff_rng.uniform(0.5, 1.0), _retry_after_s(error))

    # --- state and files --------------------------------------------------------------------------

    def _remember(self, trace) -> None:
        self.exact_seen.add(serialise_trace(trace))
        self.shapes_seen.add(structural_key(trace))

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self.records_path.open("ab") as handle:
            handle.write(line)
        self._digest.update(line)
        self.records.append(record)
        self.class_counts[record["class"]] += 1

    def _postfix(self) -> str:
        run = self.run
        return f"calls={run.calls} dup={run.exact_duplicates + run.near_duplicates} invalid={sum(run.invalid.values())}"

    def _write_manifest(self, *, stopped: str | None) -> dict:
        config = self.config
        this_run = {
            "seed": config.seed,
            "model": config.model,
            "count": config.count,
            "calls": self.run.calls,
            "accepted": self.run.accepted,
            "stopped": stopped,
        }
        manifest = {
            "file": RECORDS_FILE,
            "records": len(self.records),
            "sha256": self._digest.hexdigest(),
            "classes": {name: self.class_counts[name] for name in CLASSES.values() if self.class_counts[name]},
            "form_types": dict(sorted(Counter(record["form_type"] for record in self.records).items())),
            "model": config.model,
            "seed": config.seed,
            "mix": {CLASSES[code]: round(weight / sum(config.mix.values()), 6) for code, weight in sorted(config.mix.items())},
            "prices_usd_per_mtok": {"input": config.input_usd_per_mtok, "output": config.output_usd_per_mtok},
            **(self.earlier + self.run).as_dict(),
            "runs": [*self.runs, this_run],
        }
        config.out.mkdir(parents=True, exist_ok=True)
        partial = self.manifest_path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(partial, self.manifest_path)
        return manifest


def _retry_after_s(error: Exception) -> float:
    response = getattr(error, "response", None)
    if response is None:
        return 0.0
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(response.headers[header]) * scale
        except (KeyError, ValueError):  # absent, or an HTTP date: the exponential delay applies
            continue
    return 0.0


def _read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        raise GenerationError(f"{path}: the last line is incomplete (an interrupted write?); remove it and run again")
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise GenerationError(f"{path}:{number}: not a JSON record ({exc})") from None
    return records


def _read_manifest(path: Path) -> tuple[Tally, list[dict]]:
    """Counters of earlier runs; a missing manifest (first run, or a crash before the first write) starts at zero."""
    if not path.exists():
        return Tally(), []
    try:
        data = json.loads(path.read_text())
        return Tally.from_dict(data), list(data["runs"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GenerationError(f"{path}: unreadable manifest ({exc}); move it away to start the counters afresh") from None
