"""Dashboard reads: every figure is an aggregate computed by the database (GROUP BY, filtered COUNTs), never a loop
over sessions in Python; Python only fills the days that had no sessions and pairs rows into tables.

A session counts on the day it started, in the tenant's time zone; recovery actions on the day they were decided.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Floor, Least, TruncDate, TruncWeek

from classifier.labels import CLASSES, CODES
from formrecap.models import FormSession, Tenant
from recovery.models import ActionExecution, RecoveryRule, UxAlert
from recovery.stats import UpliftRow, arm_annotations, arms

from .models import FieldStat

BOT = CODES["bot"]
Status = FormSession.Status
# Actions that reach the visitor or the tenant's systems: what "recovery actions sent" counts.
OUTREACH_ACTIONS = (RecoveryRule.Action.EMAIL, RecoveryRule.Action.WEBHOOK, RecoveryRule.Action.DISCOUNT)
CONFIDENCE_BINS = 10
MAX_FORMS = 200


@dataclass(frozen=True)
class Scope:
    """What a dashboard shows: one tenant, optionally one site and form, the days [start, end] in its time zone."""

    tenant: Tenant
    start: date
    end: date
    site_id: int | None = None
    form_id: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.time_zone)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.zone)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def scoped_sessions(scope: Scope) -> QuerySet[FormSession]:
    sessions = FormSession.objects.for_tenant(scope.tenant).filter(started_at__gte=scope.since, started_at__lt=scope.until)
    if scope.site_id is not None:
        sessions = sessions.filter(site_id=scope.site_id)
    if scope.form_id:
        sessions = sessions.filter(form_id=scope.form_id)
    return sessions


def _scoped_executions(scope: Scope) -> QuerySet[ActionExecution]:
    executions = ActionExecution.objects.for_tenant(scope.tenant).filter(created_at__gte=scope.since, created_at__lt=scope.until)
    if scope.site_id is not None:
        executions = executions.filter(session__site_id=scope.site_id)
    if scope.form_id:
        executions = executions.filter(session__form_id=scope.form_id)
    return executions


def _session_counts() -> dict:
    abandoned = Q(status=Status.ABANDONED)
    return {
        "started": Count("id"),
        "submitted": Count("id", filter=Q(status=Status.SUBMITTED)),
        "abandoned": Count("id", filter=abandoned),
        "bots": Count("id", filter=abandoned & Q(reason_code=BOT)),
    }


@dataclass(frozen=True)
class Overview:
    started: int
    submitted: int
    abandoned: int
    bots: int
    returned: int
    recovered: int
    actions_sent: int
    actions_held_out: int
    actions_recovered: int

    @property
    def open(self) -> int:
        """Still in progress or left for now (waiting for a return): not counted either way yet."""
        return self.started - self.submitted - self.abandoned

    @property
    def abandonment_rate(self) -> float | None:
        """Of the people who finished one way or the other, the share who abandoned (bots excluded)."""
        humans = self.submitted + self.abandoned - self.bots
        return (self.abandoned - self.bots) / humans if humans else None

    @property
    def bot_share(self) -> float | None:
        return self.bots / self.abandoned if self.abandoned else None


def overview(scope: Scope) -> Overview:
    sessions = scoped_sessions(scope).aggregate(
        **_session_counts(),
        returned=Count("id", filter=Q(returned_at__isnull=False)),
        recovered=Count("id", filter=Q(recovered_at__isnull=False)),
    )
    held_out = Q(status=ActionExecution.Status.HOLDOUT)
    actions = _scoped_executions(scope).aggregate(
        sent=Count("id", filter=Q(status=ActionExecution.Status.SUCCEEDED, action__in=OUTREACH_ACTIONS)),
        held_out=Count("id", filter=held_out),
        recovered=Count("id", filter=Q(recovered_at__isnull=False) & ~held_out & Q(action__in=OUTREACH_ACTIONS)),
    )
    return Overview(
        **sessions, actions_sent=actions["sent"], actions_held_out=actions["held_out"], actions_recovered=actions["recovered"]
    )


def _by_day(rows, days: list[date], key: str = "day") -> dict[date, dict]:
    found = {row[key]: row for row in rows}
    return {day: found.get(day, {}) for day in days}


def sessions_per_day(scope: Scope) -> list[dict]:
    """Per day: started, submitted, abandoned (people), bots and the abandonment rate (bots excluded)."""
    rows = (
        scoped_sessions(scope)
        .annotate(day=TruncDate("started_at", tzinfo=scope.zone))
        .values("day")
        .annotate(**_session_counts())
        .order_by()
    )
    table = []
    for day, row in _by_day(rows, scope.days).items():
        started, submitted, abandoned, bots = (row.get(k, 0) for k in ("started", "submitted", "abandoned", "bots"))
        people = submitted + abandoned - bots
        rate = (abandoned - bots) / people if people else None
        table.append(
            {"day": day, "started": started, "submitted": submitted, "abandoned": abandoned - bots, "bots": bots, "rate": rate}
        )
    return table


def reasons_per_day(scope: Scope) -> list[dict]:
    """Abandoned sessions per day and reason (the newest reading; "unclassified" while none)."""
    rows = (
        scoped_sessions(scope)
        .filter(status=Status.ABANDONED)
        .annotate(day=TruncDate("started_at", tzinfo=scope.zone))
        .values("day", "reason_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[date, Counter] = defaultdict(Counter)
    for row in rows:
        counts[row["day"]][row["reason_code"]] += row["n"]
    return [
        {"day": day, **{CLASSES[code]: counts[day][code] for code in CLASSES}, "unclassified": counts[day][None]}
        for day in scope.days
    ]


def custom_reason_table(scope: Scope) -> list[dict]:
    """Abandoned sessions per custom reason of their final reading, with the share of their parent class's
    abandonments (of all abandonments, for a reason of any class) and the mean score. A session read by two model
    versions that disagree counts under both."""
    from classifier.models import Prediction

    abandoned = scoped_sessions(scope).filter(status=Status.ABANDONED)
    per_class = dict(abandoned.values_list("reason_code").annotate(n=Count("id")).order_by())
    per_class_or_all = {**per_class, None: sum(per_class.values())}
    rows = (
        Prediction.objects.for_tenant(scope.tenant)
        .filter(session__in=abandoned, final=True, custom_reason__isnull=False)
        .values("custom_reason__name", "custom_reason__parent_code")
        .annotate(n=Count("session_id", distinct=True), score=Avg("custom_reason_score"))
        .order_by("-n", "custom_reason__name")
    )
    return [
        {
            "reason": row["custom_reason__name"],
            "parent": CLASSES.get(row["custom_reason__parent_code"], "any class"),
            "sessions": row["n"],
            "share": (
                row["n"] / per_class_or_all[row["custom_reason__parent_code"]]
                if per_class_or_all.get(row["custom_reason__parent_code"])
                else None
            ),
            "score": row["score"],
        }
        for row in rows
    ]


def confidence_histogram(scope: Scope) -> list[dict]:
    """Abandoned sessions per confidence tenth (0.0–0.1 … 0.9–1.0) and reason."""
    bucket = Least(Floor(F("reason_confidence") * CONFIDENCE_BINS), Value(CONFIDENCE_BINS - 1.0), output_field=FloatField())
    rows = (
        scoped_sessions(scope)
        .filter(status=Status.ABANDONED, reason_confidence__isnull=False)
        .annotate(bucket=bucket)
        .values("bucket", "reason_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, Counter] = defaultdict(Counter)
    for row in rows:
        counts[int(row["bucket"])][row["reason_code"]] += row["n"]
    return [
        {
            "confidence": f"{b / CONFIDENCE_BINS:.1f}–{(b + 1) / CONFIDENCE_BINS:.1f}",
            **{CLASSES[c]: counts[b][c] for c in CLASSES},
        }
        for b in range(CONFIDENCE_BINS)
    ]


def recovery_per_day(scope: Scope) -> list[dict]:
    """Per day recovery decided: outreach sent, held out (control group), and those later recovered."""
    held_out = Q(status=ActionExecution.Status.HOLDOUT)
    rows = (
        _scoped_executions(scope)
        .annotate(day=TruncDate("created_at", tzinfo=scope.zone))
        .values("day")
        .annotate(
            sent=Count("id", filter=Q(status=ActionExecution.Status.SUCCEEDED, action__in=OUTREACH_ACTIONS)),
            held_out=Count("id", filter=held_out),
            recovered=Count("id", filter=Q(recovered_at__isnull=False, action__in=OUTREACH_ACTIONS) & ~held_out),
        )
        .order_by()
    )
    return [
        {"day": day, "sent": row.get("sent", 0), "held_out": row.get("held_out", 0), "recovered": row.get("recovered", 0)}
        for day, row in _by_day(rows, scope.days).items()
    ]


def form_list(scope: Scope) -> list[dict]:
    """The scope's forms, most abandonments first, with their top reason."""
    rows = list(
        scoped_sessions(scope)
        .values("site_id", "site__name", "form_id")
        .annotate(**_session_counts())
        .order_by("-abandoned", "site__name", "form_id")[:MAX_FORMS]
    )
    reasons = (
        scoped_sessions(scope)
        .filter(status=Status.ABANDONED, reason_code__isnull=False)
        .exclude(reason_code=BOT)
        .values("site_id", "form_id", "reason_code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    top: dict[tuple, str] = {}
    for row in reasons:
        top.setdefault((row["site_id"], row["form_id"]), CLASSES[row["reason_code"]])
    table = []
    for row in rows:
        people = row["submitted"] + row["abandoned"] - row["bots"]
        table.append(
            {
                "site_id": row["site_id"],
                "site": row["site__name"],
                "form": row["form_id"],
                "started": row["started"],
                "submitted": row["submitted"],
                "abandoned": row["abandoned"] - row["bots"],
                "bots": row["bots"],
                "rate": (row["abandoned"] - row["bots"]) / people if people else None,
                "top_reason": top.get((row["site_id"], row["form_id"]), ""),
            }
        )
    return table


def field_table(scope: Scope) -> list[dict]:
    """Per field of one form (scope with site and form), in the order visitors reach them: Zuko's metrics, bots excluded.

    ``reached``: ended sessions that touched the field; ``left_here``: abandoned sessions whose last field it was;
    ``failure_rate``: share of the sessions that reached it where its validation failed at least once.
    """
    stats = FieldStat.objects.for_tenant(scope.tenant).filter(
        site_id=scope.site_id, form_id=scope.form_id, started_at__gte=scope.since, started_at__lt=scope.until
    )
    stats = stats.exclude(session__reason_code=BOT, submitted=False)
    rows = (
        stats.values("field")
        .annotate(
            reached=Count("id"),
            position=Avg("position"),
            time_ms=Avg("time_ms"),
            focuses=Sum("focus_count"),
            corrections=Sum("corrections"),
            failed_sessions=Count("id", filter=Q(failures__gt=0)),
            failures=Sum("failures"),
            left_here=Count("id", filter=Q(is_last=True, submitted=False)),
        )
        .order_by("position", "field")
    )
    reasons = stats.filter(failures__gt=0).values("field", "reason").annotate(n=Count("id")).order_by("-n")
    top_reason: dict[str, str] = {}
    for row in reasons:
        top_reason.setdefault(row["field"], row["reason"])
    alerts = dict(
        UxAlert.objects.for_tenant(scope.tenant)
        .filter(site_id=scope.site_id, resolved_at__isnull=True)
        .values_list("field", "pk")
    )
    return [
        {
            "field": row["field"],
            "reached": row["reached"],
            "left_here": row["left_here"],
            "mean_seconds": row["time_ms"] / 1000,
            "refocus_per_session": (row["focuses"] - row["reached"]) / row["reached"],
            "corrections_per_session": row["corrections"] / row["reached"],
            "failure_rate": row["failed_sessions"] / row["reached"],
            "failures": row["failures"],
            "top_failure_reason": top_reason.get(row["field"], ""),
            "ux_alert_id": alerts.get(row["field"]),
        }
        for row in rows
    ]


@dataclass(frozen=True)
class WeeklyUplift:
    week: date
    row: UpliftRow


def uplift_per_week(scope: Scope) -> list[WeeklyUplift]:
    """Per rule, class and week the executions were decided: treated vs holdout recovery (recovery.stats)."""
    executions = _scoped_executions(scope).filter(rule__isnull=False)
    counts = list(
        executions.annotate(week=TruncWeek("created_at", tzinfo=scope.zone))
        .values("rule_id", "class_code", "week")
        .annotate(**arm_annotations())
        .order_by()
    )
    rules = RecoveryRule.objects.for_tenant(scope.tenant).in_bulk({row["rule_id"] for row in counts})
    result = []
    for row in counts:
        treated, holdout = arms(row)
        if treated.n or holdout.n:
            rule = rules[row["rule_id"]]
            week = row["week"].date() if isinstance(row["week"], datetime) else row["week"]
            result.append(WeeklyUplift(week, UpliftRow(rule.pk, str(rule), rule.action, row["class_code"], treated, holdout)))
    return sorted(result, key=lambda w: (-rules[w.row.rule_id].priority, w.row.rule_id, w.row.class_code, w.week))


def sessions_without_field_stats(*, tenant: Tenant, include_summarised: bool = False) -> list[int]:
    """Ended sessions of the tenant with no field figures (all ended ones with ``include_summarised``)."""
    sessions = FormSession.objects.for_tenant(tenant).filter(status__in=[Status.SUBMITTED, Status.ABANDONED])
    if not include_summarised:
        sessions = sessions.filter(field_stats__isnull=True)
    return list(sessions.values_list("pk", flat=True).distinct())
