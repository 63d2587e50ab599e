"""Dashboard pages inside Django admin (the operators' home): overview, forms and their fields, recovery over time.

Each page draws its charts from the same tables it shows, and any table downloads as CSV with ``?export=<name>``.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from classifier.labels import CLASSES
from formrecap.admin_tenancy import member_tenant_ids

from . import charts, selectors
from .filters import scope_from_request
from .tables import Column, Table

CLASS_NAMES = list(CLASSES.values())


def _query(scope: selectors.Scope, **extra) -> str:
    params = {"tenant": scope.tenant.pk, "start": scope.start.isoformat(), "end": scope.end.isoformat()}
    if scope.site_id is not None:
        params["site"] = scope.site_id
    if scope.form_id:
        params["form"] = scope.form_id
    params.update(extra)
    return urlencode(params)


def _day_label(day) -> str:
    return day.strftime("%d %b")


def _page(request: HttpRequest, template: str, build) -> HttpResponse:
    """Resolve the scope, build the page's tables and charts, and answer CSV when a table is asked for."""
    if not (request.user.is_superuser or member_tenant_ids(request)):
        raise Http404("you are not a member of any tenant")
    try:
        scope, tenants, sites = scope_from_request(request)
        context = build(scope)
    except BadRequest as problem:
        return _bad_request(request, str(problem))
    tables: list[Table] = context["tables"]
    wanted = request.GET.get("export")
    if wanted is not None:
        table = next((t for t in tables if t.name == wanted), None)
        if table is None:
            return _bad_request(request, f"no table {wanted[:40]!r} here: export one of {', '.join(t.name for t in tables)}")
        return table.csv_response(f"formrecap-{scope.tenant.slug}-{table.name}-{scope.start}-{scope.end}.csv")
    for table in tables:
        table.export_query = _query(scope, export=table.name)
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            **context,
            "scope": scope,
            "tenants": tenants,
            "sites": sites,
            "query": _query(scope),
        },
    )


def _bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Dashboard: bad request", "problem": problem}
    return TemplateResponse(request, "analytics/bad_request.html", context, status=400)


def overview_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "analytics/overview.html", _overview)


def _overview(scope: selectors.Scope) -> dict:
    figures = selectors.overview(scope)
    per_day = selectors.sessions_per_day(scope)
    reasons = selectors.reasons_per_day(scope)
    confidence = selectors.confidence_histogram(scope)
    recovery = selectors.recovery_per_day(scope)
    forms = selectors.form_list(scope)
    custom_reasons = selectors.custom_reason_table(scope)
    days = [_day_label(row["day"]) for row in per_day]
    form_link = reverse("analytics-form")

    def form_url(row: dict) -> str:
        return f"{form_link}?{_query(scope, site=row['site_id'], form=row['form'])}"

    tables = [
        Table(
            "sessions",
            "Sessions per day",
            [
                Column("day", "Day", "date"),
                Column("started", "Started"),
                Column("submitted", "Submitted"),
                Column("abandoned", "Abandoned (people)"),
                Column("bots", "Bots (excluded)"),
                Column("rate", "Abandonment rate", "pct"),
            ],
            per_day,
        ),
        Table("reasons", "Why they left, per day", [Column("day", "Day", "date")] + _class_columns(), reasons),
        Table(
            "confidence",
            "Confidence of the readings",
            [Column("confidence", "Confidence", "text")] + _class_columns()[:-1],
            confidence,
        ),
        Table(
            "recovery",
            "Recovery per day",
            [
                Column("day", "Day", "date"),
                Column("sent", "Outreach sent"),
                Column("held_out", "Held out"),
                Column("recovered", "Recovered after outreach"),
            ],
            recovery,
        ),
        Table(
            "forms",
            "Forms",
            [
                Column("site", "Site", "text"),
                Column("form", "Form", "text", link=form_url),
                Column("started", "Started"),
                Column("submitted", "Submitted"),
                Column("abandoned", "Abandoned (people)"),
                Column("bots", "Bots"),
                Column("rate", "Abandonment rate", "pct"),
                Column("top_reason", "Top reason", "text"),
            ],
            forms,
        ),
        Table(
            "custom_reasons",
            "Your custom reasons",
            [
                Column("reason", "Custom reason", "text"),
                Column("parent", "Of class", "text"),
                Column("sessions", "Abandoned sessions"),
                Column("share", "Share of that class", "pct"),
                Column("score", "Mean score", "num"),
            ],
            custom_reasons,
        ),
    ]
    classes = [*CLASS_NAMES, "unclassified"]
    return {
        "title": "Dashboard",
        "figures": figures,
        "tables": tables,
        "charts": {
            "sessions": charts.stacked_bars(
                "c-sessions",
                "Sessions per day",
                days,
                [
                    charts.Series("submitted", [r["submitted"] for r in per_day]),
                    charts.Series("abandoned", [r["abandoned"] for r in per_day]),
                    charts.Series("bots", [r["bots"] for r in per_day]),
                ],
            ),
            "rate": charts.line_chart(
                "c-rate",
                "Abandonment rate (bots excluded)",
                days,
                [charts.Series("rate", [r["rate"] for r in per_day])],
                percent=True,
            ),
            "reasons": charts.stacked_bars(
                "c-reasons", "Why they left", days, [charts.Series(c, [r[c] for r in reasons]) for c in classes]
            ),
            "confidence": charts.stacked_bars(
                "c-confidence",
                "Confidence of the readings (abandoned sessions)",
                [r["confidence"] for r in confidence],
                [charts.Series(c, [r[c] for r in confidence]) for c in CLASS_NAMES],
            ),
            "recovery": charts.line_chart(
                "c-recovery",
                "Recovery per day",
                days,
                [charts.Series(k.replace("_", " "), [r[k] for r in recovery]) for k in ("sent", "held_out", "recovered")],
            ),
        },
    }


def _class_columns() -> list[Column]:
    return [Column(name, name.replace("_", " ")) for name in CLASS_NAMES] + [Column("unclassified", "unclassified")]


def form_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "analytics/form.html", _form)


def _form(scope: selectors.Scope) -> dict:
    if scope.site_id is None or not scope.form_id:
        raise BadRequest("choose a site and a form (site=…&form=…): field figures are per form")
    fields = selectors.field_table(scope)

    def alert_url(row: dict) -> str | None:
        return reverse("admin:recovery_uxalert_change", args=[row["ux_alert_id"]]) if row["ux_alert_id"] else None

    for row in fields:
        row["ux_alert"] = "open alert" if row["ux_alert_id"] else ""
    table = Table(
        "fields",
        "Fields, in the order visitors reach them",
        [
            Column("field", "Field", "text"),
            Column("reached", "Sessions that reached it"),
            Column("left_here", "Abandoned on it (last field)"),
            Column("mean_seconds", "Mean time in field (s)", "num"),
            Column("refocus_per_session", "Refocus per session", "num"),
            Column("corrections_per_session", "Corrections per session", "num"),
            Column("failure_rate", "Validation failure rate", "pct"),
            Column("top_failure_reason", "Most frequent failure", "text"),
            Column("ux_alert", "UX alert", "text", link=alert_url),
        ],
        fields,
    )
    labels = [row["field"] for row in fields]
    return {
        "title": f"Form {scope.form_id}",
        "tables": [table],
        "charts": {
            "funnel": charts.funnel_chart(
                "c-funnel", "Drop-off, in field order", labels, [r["reached"] for r in fields], [r["left_here"] for r in fields]
            ),
            "failures": charts.stacked_bars(
                "c-failures",
                "Validation failure rate per field",
                labels,
                [charts.Series("sessions with a failure", [r["failure_rate"] for r in fields])],
                percent=True,
            ),
        },
    }


def recovery_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "analytics/recovery.html", _recovery)


def _recovery(scope: selectors.Scope) -> dict:
    weekly = selectors.uplift_per_week(scope)
    rows = []
    series: dict[tuple[int, int], list] = {}
    for each in weekly:
        row = each.row
        ci = row.ci
        rows.append(
            {
                "rule": row.rule_name,
                "class": row.class_name,
                "week": each.week,
                "treated_n": row.treated.n,
                "treated_recovered": row.treated.recovered,
                "treated_rate": row.treated.rate,
                "holdout_n": row.holdout.n,
                "holdout_recovered": row.holdout.recovered,
                "holdout_rate": row.holdout.rate,
                "uplift": row.difference,
                "ci_low": ci[0] if ci else None,
                "ci_high": ci[1] if ci else None,
            }
        )
        series.setdefault((row.rule_id, row.class_code), []).append((each.week, row))
    table = Table(
        "uplift",
        "Treated vs holdout, per rule, class and week",
        [
            Column("rule", "Rule", "text"),
            Column("class", "Class", "text"),
            Column("week", "Week of", "date"),
            Column("treated_n", "Treated"),
            Column("treated_recovered", "recovered"),
            Column("treated_rate", "rate", "pct"),
            Column("holdout_n", "Holdout"),
            Column("holdout_recovered", "recovered"),
            Column("holdout_rate", "rate", "pct"),
            Column("uplift", "Uplift", "pct"),
            Column("ci_low", "95% CI low", "pct"),
            Column("ci_high", "95% CI high", "pct"),
        ],
        rows,
    )
    uplift_charts = []
    for index, points in enumerate(series.values()):
        first = points[0][1]
        values = [(row.difference, *row.ci) if row.ci else None for _, row in points]
        uplift_charts.append(
            charts.interval_chart(
                f"c-uplift-{index}",
                f"{first.rule_name} · {first.class_name}",
                [week.strftime("%d %b") for week, _ in points],
                values,
            )
        )
    return {"title": "Recovery over time", "tables": [table], "uplift_charts": uplift_charts}


def admin_urls() -> list:
    from django.urls import path

    return [
        path("admin/dashboard/", admin.site.admin_view(overview_view), name="analytics-overview"),
        path("admin/dashboard/form/", admin.site.admin_view(form_view), name="analytics-form"),
        path("admin/dashboard/recovery/", admin.site.admin_view(recovery_view), name="analytics-recovery"),
    ]
