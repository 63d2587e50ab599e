"""Tables shown under every chart and exported as CSV from the same rows (raw numbers in CSV, formatted on the page)."""

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.http import HttpResponse


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "int"  # int, pct, num, text, date
    link: Callable[[dict], str | None] | None = None  # a URL for the cell, from its row


def _shown(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "int":
        return f"{value:,}"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "num":
        return f"{value:,.2f}"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return str(value)


@dataclass
class Table:
    name: str  # the ?export= value
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    export_query: str = ""  # the page's query string with ?export=<name>, set by the view

    def cells(self) -> list[list[tuple[str, str | None, bool]]]:
        """Per row, per column: (text, link or None, right-aligned)."""
        return [
            [
                (_shown(row.get(c.key), c.kind), c.link(row) if c.link else None, c.kind not in ("text", "date"))
                for c in self.columns
            ]
            for row in self.rows
        ]

    def csv_response(self, filename: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        writer.writerow([c.heading for c in self.columns])
        for row in self.rows:
            writer.writerow(["" if row.get(c.key) is None else _csv_value(row.get(c.key), c.kind) for c in self.columns])
        return response


def _csv_value(value, kind: str):
    if kind == "pct":
        return f"{value:.4f}"
    if kind == "num":
        return f"{value:.3f}"
    if kind == "text" and isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a form or field name must never run as a spreadsheet formula
    return value
