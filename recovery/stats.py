"""Measured uplift: per rule and class, the recovery rate of treated sessions against the holdout (control) group,
with a 95% confidence interval for the difference (Newcombe's hybrid score interval, method 10 of Newcombe 1998).

Treated means assigned to treatment (intention to treat): every execution of the rule that is not held out,
whether or not its action could be delivered (an email with no address still counts), except sessions the
rule's per-visitor cooldown excluded before assignment, which belong to neither arm.
"""

from dataclasses import dataclass
from datetime import datetime
from math import sqrt
from statistics import NormalDist

from django.db.models import Count, Q

from classifier.labels import CLASSES
from formrecap.models import Tenant

from .models import ActionExecution, RecoveryRule

CONFIDENCE_LEVEL = 0.95
Z_95 = NormalDist().inv_cdf(0.5 + CONFIDENCE_LEVEL / 2)  # 1.959964…

# detail["decision"] of an execution the cooldown skipped before any assignment (set by recovery.services).
COOLDOWN_DECISION = "cooldown"


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a single proportion (no continuity correction); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def newcombe_difference_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> tuple[float, float] | None:
    """Confidence interval for p1 − p2 (x1/n1 − x2/n2) from the two Wilson intervals (Newcombe's method 10).

    None when either arm is empty: there is no difference to estimate.
    """
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    low1, high1 = wilson_interval(x1, n1, z)
    low2, high2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    below = sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    above = sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return max(-1.0, difference - below), min(1.0, difference + above)


@dataclass(frozen=True)
class ArmCounts:
    n: int
    recovered: int

    @property
    def rate(self) -> float | None:
        return self.recovered / self.n if self.n else None


@dataclass(frozen=True)
class UpliftRow:
    """One rule and predicted class: treated vs holdout recovery."""

    rule_id: int
    rule_name: str
    action: str
    class_code: int
    treated: ArmCounts
    holdout: ArmCounts

    @property
    def class_name(self) -> str:
        return CLASSES[self.class_code]

    @property
    def difference(self) -> float | None:
        """Treated rate minus holdout rate (the uplift), or None while an arm is empty."""
        if self.treated.rate is None or self.holdout.rate is None:
            return None
        return self.treated.rate - self.holdout.rate

    @property
    def ci(self) -> tuple[float, float] | None:
        return newcombe_difference_interval(self.treated.recovered, self.treated.n, self.holdout.recovered, self.holdout.n)


def arm_annotations(prefix: str = "") -> dict[str, Count]:
    """Aggregates that ``arms`` turns into (treated, holdout), for a query over executions (``prefix=""``) or over
    rules (``prefix="executions__"``). Only positive conditions, so they stay one join with no subqueries."""

    def where(**lookups) -> Q:
        return Q(**{prefix + lookup: value for lookup, value in lookups.items()})

    counted = f"{prefix}id"
    recovered = where(recovered_at__isnull=False)
    held_out = where(status=ActionExecution.Status.HOLDOUT)
    cooled_down = where(status=ActionExecution.Status.SKIPPED, detail__decision=COOLDOWN_DECISION)
    return {
        "arm_all_n": Count(counted),
        "arm_all_recovered": Count(counted, filter=recovered),
        "arm_holdout_n": Count(counted, filter=held_out),
        "arm_holdout_recovered": Count(counted, filter=held_out & recovered),
        "arm_cooldown_n": Count(counted, filter=cooled_down),
        "arm_cooldown_recovered": Count(counted, filter=cooled_down & recovered),
    }


def arms(counts) -> tuple[ArmCounts, ArmCounts]:
    """(treated, holdout) from a row annotated with ``arm_annotations`` (a dict or a model instance)."""
    value = counts.__getitem__ if isinstance(counts, dict) else counts.__getattribute__
    holdout = ArmCounts(value("arm_holdout_n"), value("arm_holdout_recovered"))
    treated = ArmCounts(
        value("arm_all_n") - holdout.n - value("arm_cooldown_n"),
        value("arm_all_recovered") - holdout.recovered - value("arm_cooldown_recovered"),
    )
    return treated, holdout


def recovery_uplift(
    *, tenant: Tenant, rule_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[UpliftRow]:
    """Per rule and class of the tenant's executions (created in [since, until)), ordered by rule priority."""
    executions = ActionExecution.objects.for_tenant(tenant).filter(rule__isnull=False)
    if rule_id is not None:
        executions = executions.filter(rule_id=rule_id)
    if since is not None:
        executions = executions.filter(created_at__gte=since)
    if until is not None:
        executions = executions.filter(created_at__lt=until)
    counts = list(executions.values("rule_id", "class_code").annotate(**arm_annotations()).order_by())
    rules = RecoveryRule.objects.for_tenant(tenant).in_bulk([row["rule_id"] for row in counts])
    rows = []
    for row in counts:
        treated, holdout = arms(row)
        if treated.n or holdout.n:
            rule = rules[row["rule_id"]]
            rows.append(UpliftRow(rule.pk, str(rule), rule.action, row["class_code"], treated, holdout))
    return sorted(rows, key=lambda row: (-rules[row.rule_id].priority, row.rule_id, row.class_code))
