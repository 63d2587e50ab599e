"""Dashboards: figures from SQL aggregates in the tenant's time zone, field analytics, uplift per week, the pages,
their CSV exports, and isolation (another tenant's ids answer 404)."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics import selectors
from analytics.models import FieldStat
from analytics.services import session_fields_summarise
from formrecap.models import FormSession, Membership
from recovery.models import ActionExecution, UxAlert
from tests.factories import FormSessionFactory, MembershipFactory, SiteFactory, TraceChunkFactory, UserFactory
from tests.recovery.plans import execution_row, make_rule

pytestmark = pytest.mark.django_db
Status = FormSession.Status
DAY = date(2026, 11, 2)
NOON = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # 12:00 in Paris
LATE = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already 3 November in Paris

FAILING_EMAIL = [
    {"type": "focus", "field": "email", "ts": 0},
    {"type": "input", "field": "email", "ts": 100},
    {"type": "blur", "field": "email", "ts": 2000, "validation": "invalid_format"},
    {"type": "focus", "field": "password", "ts": 2500},
    {"type": "exit", "field": None, "ts": 4500},
]
CLEAN = [
    {"type": "focus", "field": "email", "ts": 0},
    {"type": "input", "field": "email", "ts": 100},
    {"type": "blur", "field": "email", "ts": 1000},
    {"type": "focus", "field": "password", "ts": 1200},
    {"type": "input", "field": "password", "ts": 1300},
    {"type": "blur", "field": "password", "ts": 3200},
    {"type": "submit", "field": None, "ts": 3300},
]


def _session(site, status, *, started=NOON, code=None, confidence=None, events=None, form="signup"):
    session = FormSessionFactory(
        site=site, status=status, started_at=started, form_id=form, reason_code=code, reason_confidence=confidence
    )
    if events:
        TraceChunkFactory(session=session, seq=0, events=events)
        session_fields_summarise(tenant=site.tenant, session_id=session.pk)
    return session


@pytest.fixture
def paris(tenant):
    tenant.time_zone = "Europe/Paris"
    tenant.save()
    return tenant


@pytest.fixture
def data(paris, site, other_site):
    for _ in range(3):
        _session(site, Status.SUBMITTED, events=CLEAN)
    failing = _session(site, Status.ABANDONED, code=1, confidence=0.95, events=FAILING_EMAIL)
    _session(site, Status.ABANDONED, code=2, confidence=0.55, events=CLEAN[:4])
    _session(site, Status.ABANDONED, code=5, confidence=0.99, events=FAILING_EMAIL)  # a bot: excluded from field figures
    _session(site, Status.IN_PROGRESS)
    _session(site, Status.SUBMITTED, started=LATE)
    _session(site, Status.ABANDONED, code=3, confidence=0.8, form="checkout")
    # Another tenant's sessions on the same day must never show.
    for _ in range(5):
        _session(other_site, Status.ABANDONED, code=4, confidence=0.9, events=FAILING_EMAIL)
    return failing


def _scope(tenant, **kwargs):
    return selectors.Scope(tenant=tenant, start=DAY, end=DAY + timedelta(days=1), **kwargs)


def test_overview_counts_in_sql_with_bots_excluded_from_the_rate(data, paris):
    figures = selectors.overview(_scope(paris))
    assert (figures.started, figures.submitted, figures.abandoned, figures.bots) == (9, 4, 4, 1)
    assert figures.open == 1
    assert figures.abandonment_rate == pytest.approx(3 / 7)
    assert figures.bot_share == pytest.approx(1 / 4)


def test_days_are_the_tenants_days(data, paris):
    per_day = selectors.sessions_per_day(_scope(paris))
    assert [(row["day"], row["started"], row["submitted"]) for row in per_day] == [(DAY, 8, 3), (DAY + timedelta(days=1), 1, 1)]
    paris.time_zone = "America/Los_Angeles"  # 23:30 UTC is still 2 November there
    assert [row["started"] for row in selectors.sessions_per_day(_scope(paris))] == [9, 0]


def test_reasons_and_confidence_per_class(data, paris):
    first_day = selectors.reasons_per_day(_scope(paris))[0]
    assert first_day["validation_error"] == 1 and first_day["distraction"] == 1 and first_day["bot"] == 1
    assert first_day["comparison_shopping"] == 1 and first_day["unclassified"] == 0
    histogram = {row["confidence"]: row for row in selectors.confidence_histogram(_scope(paris))}
    assert histogram["0.9–1.0"]["validation_error"] == 1 and histogram["0.9–1.0"]["bot"] == 1
    assert histogram["0.5–0.6"]["distraction"] == 1 and histogram["0.8–0.9"]["comparison_shopping"] == 1


def test_site_and_form_filters(data, paris, site):
    assert selectors.overview(_scope(paris, site_id=site.pk, form_id="checkout")).started == 1
    forms = selectors.form_list(_scope(paris))
    assert [(row["form"], row["abandoned"], row["top_reason"]) for row in forms][:2] == [
        ("signup", 2, "validation_error"),
        ("checkout", 1, "comparison_shopping"),
    ]


def test_field_table_in_field_order_with_failures_last_field_and_ux_alert(data, paris, site):
    alert = UxAlert.objects.create(
        tenant=paris, site=site, field="email", reason="invalid_format", sessions=10, validation_abandonments=4, rate=0.4
    )
    rows = selectors.field_table(_scope(paris, site_id=site.pk, form_id="signup"))
    assert [row["field"] for row in rows] == ["email", "password"]
    email, password = rows
    assert email["reached"] == 5  # 3 submitted + 2 abandoned people; the bot is excluded
    assert email["failure_rate"] == pytest.approx(1 / 5) and email["top_failure_reason"] == "invalid_format"
    assert email["ux_alert_id"] == alert.pk and password["ux_alert_id"] is None
    assert password["left_here"] == 2  # both abandoning people were on the password when they left
    assert email["mean_seconds"] == pytest.approx((1000 * 3 + 2000 + 1000) / 5 / 1000)


def test_field_figures_are_replaced_not_duplicated(data, paris):
    before = FieldStat.objects.for_tenant(paris).filter(session=data).count()
    session_fields_summarise(tenant=paris, session_id=data.pk)
    assert FieldStat.objects.for_tenant(paris).filter(session=data).count() == before == 2
    FormSession.objects.for_tenant(paris).filter(pk=data.pk).update(status=Status.IN_PROGRESS)  # the visitor came back
    session_fields_summarise(tenant=paris, session_id=data.pk)
    assert not FieldStat.objects.for_tenant(paris).filter(session=data).exists()


def test_uplift_per_week_counts_both_arms(paris, site):
    rule = make_rule(paris, "email", class_code=2, holdout_share=0.5)
    rows = []
    for index in range(8):
        session = _session(site, Status.ABANDONED, code=2, confidence=0.9)
        status = ActionExecution.Status.HOLDOUT if index % 2 else ActionExecution.Status.SUCCEEDED
        rows.append(execution_row(rule, session, status, recovered=index in (0, 2, 4, 1)))
    ActionExecution.all_tenants.bulk_create(rows)
    ActionExecution.all_tenants.update(created_at=NOON)
    weekly = selectors.uplift_per_week(_scope(paris))
    assert len(weekly) == 1
    row = weekly[0].row
    assert (row.treated.n, row.treated.recovered, row.holdout.n, row.holdout.recovered) == (4, 3, 4, 1)
    assert weekly[0].week == date(2026, 11, 2)  # a Monday
    assert selectors.overview(_scope(paris)).actions_sent == 4


# --- pages -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def owner_client(client, paris):
    owner = UserFactory(username="dash-owner")
    MembershipFactory(tenant=paris, user=owner, role=Membership.Role.ANALYST)  # read-only is enough to read dashboards
    client.force_login(owner)
    return client


QUERY = "start=2026-11-02&end=2026-11-03"


def test_overview_page_shows_figures_charts_and_tables(data, owner_client):
    page = owner_client.get(f"/admin/dashboard/?{QUERY}")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg class="chart"') == 5 and "<pattern" in html  # every series has a pattern, not only a colour
    assert "Europe/Paris" in html and "signup" in html and "checkout" in html
    assert 'href="/admin/dashboard/form/?' in html


def test_form_page_lists_fields_and_links_the_ux_alert(data, owner_client, paris, site):
    alert = UxAlert.objects.create(tenant=paris, site=site, field="email", sessions=10, validation_abandonments=4, rate=0.4)
    page = owner_client.get(f"/admin/dashboard/form/?{QUERY}&site={site.pk}&form=signup")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/admin/recovery/uxalert/{alert.pk}/change/" in html and "invalid_format" in html
    assert owner_client.get(f"/admin/dashboard/form/?{QUERY}").status_code == 400  # no form chosen: said plainly


def test_csv_export_has_raw_numbers(data, owner_client):
    response = owner_client.get(f"/admin/dashboard/?{QUERY}&export=sessions")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Day", "Started", "Submitted"]
    assert rows[1][:3] == ["2026-11-02", "8", "3"]
    assert owner_client.get(f"/admin/dashboard/?{QUERY}&export=nope").status_code == 400


@pytest.mark.parametrize(
    ("query", "problem"),
    [("start=2026-13-01", "start must be a date"), ("start=2026-11-05&end=2026-11-01", "is after end"),
     ("start=2020-01-01&end=2026-01-01", "at most 400 days")],
)  # fmt: skip
def test_bad_dates_answer_400_naming_the_problem(owner_client, query, problem):
    response = owner_client.get(f"/admin/dashboard/?{query}")
    assert response.status_code == 400 and problem in response.content.decode()


def test_another_tenants_ids_answer_404(data, owner_client, other_tenant, other_site):
    for url in (
        f"/admin/dashboard/?tenant={other_tenant.pk}",
        f"/admin/dashboard/?site={other_site.pk}",
        f"/admin/dashboard/form/?site={other_site.pk}&form=signup",
        f"/admin/dashboard/recovery/?tenant={other_tenant.pk}",
        f"/admin/dashboard/?tenant={other_tenant.pk}&export=sessions",
        "/admin/dashboard/?site=abc",
    ):
        assert owner_client.get(url).status_code == 404, url
    # the tenant's own dashboard never counts the other tenant's five sessions
    assert owner_client.get(f"/admin/dashboard/?{QUERY}&export=sessions").content.decode().splitlines()[1].split(",")[1] == "8"


def test_staff_without_a_tenant_get_404_and_anonymous_the_login(client, data):
    assert client.get("/admin/dashboard/").status_code == 302
    client.force_login(UserFactory(username="lonely", is_staff=True))
    assert client.get("/admin/dashboard/").status_code == 404


def test_recovery_page_charts_each_rule_and_class(paris, site, owner_client):
    rule = make_rule(paris, "email", class_code=2, holdout_share=0.5)
    session = _session(site, Status.ABANDONED, code=2)
    held = _session(site, Status.ABANDONED, code=2)
    ActionExecution.all_tenants.bulk_create(
        [execution_row(rule, session, ActionExecution.Status.SUCCEEDED, recovered=True),
         execution_row(rule, held, ActionExecution.Status.HOLDOUT)]
    )  # fmt: skip
    ActionExecution.all_tenants.update(created_at=NOON)
    page = owner_client.get(f"/admin/dashboard/recovery/?{QUERY}")
    assert page.status_code == 200 and page.content.decode().count('<svg class="chart"') == 1
    csv_rows = list(
        csv.reader(io.StringIO(owner_client.get(f"/admin/dashboard/recovery/?{QUERY}&export=uplift").content.decode()))
    )
    assert csv_rows[1][3:9] == ["1", "1", "1.0000", "1", "0", "0.0000"]


def test_a_site_of_the_tenant_without_data_renders_empty(owner_client, paris):
    empty = SiteFactory(tenant=paris, name="Empty")
    page = owner_client.get(f"/admin/dashboard/?site={empty.pk}")
    assert page.status_code == 200 and "Nothing in this range yet." in page.content.decode()
