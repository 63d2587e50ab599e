"""`python manage.py classify_traces --input IN.jsonl --output OUT.jsonl [--backend NAME] [--chunk-size N]`

Each input line is a JSON object whose ``events`` is a terse trace string or a list of raw
snippet events (other keys are ignored). Each output line, in the same order, is
``{"code", "class", "confidence", "probabilities": {"1".."6"}, "model_version"}``, or
``{"error": "..."}`` for a line that cannot be classified; a bad line never stops the file.
Lines are classified in chunks, one backend call per chunk. Nothing is stored.
"""

import json
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from django.core.management.base import BaseCommand, CommandError

from classifier.backends import BACKEND_NAMES, DEFAULT_BACKEND, BackendUnavailable, Classification
from classifier.services import classify_traces
from classifier.trace import Trace, TraceError, trace_from_input

DEFAULT_CHUNK_SIZE = 1000


def trace_from_line(line: bytes) -> Trace:
    """One input line → its trace, or TraceError saying what is wrong with the line."""
    try:
        record = json.loads(line)
    except ValueError as exc:  # also invalid UTF-8 and integers too long to convert
        raise TraceError(f"line is not valid JSON: {exc}"[:300]) from None
    except RecursionError:
        raise TraceError("line is not valid JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise TraceError("line must be a JSON object with an events key")
    if "events" not in record:
        raise TraceError("events: required")
    return trace_from_input(record["events"])


def output_record(classification: Classification) -> dict:
    probabilities = classification.probabilities_by_code()
    return {
        "code": classification.code,
        "class": classification.label,
        "confidence": probabilities[str(classification.code)],
        "probabilities": probabilities,
        "model_version": classification.model_version,
    }


def chunks(lines: IO[bytes], size: int) -> Iterator[list[bytes]]:
    while chunk := list(islice(lines, size)):
        yield chunk


class Command(BaseCommand):
    help = "Classify a JSONL file of traces into a JSONL file of predictions, line for line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="JSONL, one {'events': …} per line")
        parser.add_argument("--output", required=True, type=Path, help="JSONL written line for line")
        parser.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKEND_NAMES)
        parser.add_argument("--model-version", type=int, help="a model version id (default: the backend's active model)")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="lines per backend call")

    def handle(self, *args, **options) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        started = time.perf_counter()
        lines = errors = 0
        try:
            with options["input"].open("rb") as source, options["output"].open("w", encoding="utf-8") as sink:
                for chunk in chunks(source, options["chunk_size"]):
                    records = self._classify_chunk(chunk, options["backend"], options.get("model_version"))
                    sink.writelines(json.dumps(record) + "\n" for record in records)
                    lines += len(records)
                    errors += sum("error" in record for record in records)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except BackendUnavailable as exc:
            raise CommandError(f"backend {options['backend']!r} unavailable: {exc}") from exc
        seconds = time.perf_counter() - started
        self.stderr.write(f"classified {lines} lines: {lines - errors} ok, {errors} errors, {seconds:.2f} s")

    def _classify_chunk(self, chunk: list[bytes], backend: str, model_version_id: int | None = None) -> list[dict]:
        records: list[dict] = [{} for _ in chunk]
        traces: list[Trace] = []
        positions: list[int] = []
        for index, line in enumerate(chunk):
            try:
                traces.append(trace_from_line(line))
                positions.append(index)
            except TraceError as exc:
                records[index] = {"error": str(exc)}
        if traces:
            result = classify_traces(traces=traces, backend_name=backend, model_version_id=model_version_id)
            for index, classification in zip(positions, result.classifications, strict=True):
                records[index] = output_record(classification)
        return records
