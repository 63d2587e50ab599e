"""`python manage.py record_sessions --count N --seed S --out PATH [--classes ...] [--forms ...] [--workers W] [--json]`

Drives Debian Chromium through scripted visitors on the recorder's forms (training/browser/) and writes one
labelled raw snippet session per line to PATH. Same seed, same file. Prints what was recorded (per class,
variant, naming scheme, form, departure), the sessions lost (batches that never all arrived) and the time taken.
"""

import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.browser.forms import TEMPLATES
from training.browser.recorder import Summary, record_sessions


class Command(BaseCommand):
    help = "Record labelled raw snippet sessions in real Chromium (scripted visitors on realistic forms)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="sessions to record (classes balanced)")
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
        parser.add_argument("--classes", nargs="+", help="only these classes (names or codes 1-6)")
        parser.add_argument("--forms", nargs="+", choices=sorted(TEMPLATES), help="only these form templates")
        # two browsers keep a 2-core machine busy: one waits on its page while the other works
        parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="browsers in parallel")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    def handle(self, *args, **options) -> None:
        if options["count"] < 1:
            raise CommandError("--count must be at least 1")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        quiet = options["json"] or not sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if not quiet and (done % 10 == 0 or done == total):
                sys.stderr.write(f"\r{done}/{total} sessions")
                sys.stderr.flush()

        try:
            _, summary = record_sessions(
                options["count"],
                options["seed"],
                out=options["out"],
                classes=options["classes"],
                forms=options["forms"],
                workers=options["workers"],
                progress=progress,
            )
        except (ValueError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        if not quiet:
            sys.stderr.write("\n")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), sort_keys=True))
            return
        self.stdout.write(render_summary(summary, options["out"]))


def render_summary(summary: Summary, out: Path) -> str:
    lines = [
        f"recorded {summary.recorded} sessions to {out} in {summary.seconds:.1f} s "
        f"({summary.per_second:.2f} sessions/s, {summary.events} events)",
        f"lost {len(summary.lost)}, retried {summary.retried}, stray snippet sessions {summary.stray_sessions}, "
        f"page errors {len(summary.page_errors)}",
        "browser seconds: " + ", ".join(f"{name} {value:.0f}" for name, value in sorted(summary.phases.items())),
    ]
    for lost in summary.lost:
        lines.append(f"  LOST {lost['id']} {lost['variant']} on {lost['form']} ({lost['naming']}): {lost['reason']}")
    for title, counts in (
        ("classes", summary.classes),
        ("difficulty", summary.difficulty),
        ("departures", summary.departures),
        ("naming", summary.naming),
        ("forms", summary.forms),
        ("variants", summary.variants),
    ):
        lines.append(f"{title}:")
        lines += [f"  {name:44} {count:5}" for name, count in sorted(counts.items())]
    return "\n".join(lines)
