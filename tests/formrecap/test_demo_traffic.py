"""seed_demo --traffic: a fresh embedded install opens on dashboards with something to read, seeded once, through
the real classification and recovery pipeline, without emailing the simulated visitors on the console."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import FieldStat
from analytics.selectors import Scope, overview, uplift_per_week
from classifier.models import Prediction
from formrecap.demo import demo_seed
from formrecap.demo_traffic import DEMO_RULES, SITE_NAME, demo_traffic_seed
from formrecap.models import FormSession, Site, Tenant
from recovery.models import ActionExecution, RecoveryRule
from recovery.services import recovery_rule_create

SESSIONS = 60


@pytest.fixture
def tenant(db, active_embedded_model) -> Tenant:
    demo_seed(origins=["http://127.0.0.1:8000"], username="demo", password="pw-demo-traffic-1234")
    return Tenant.objects.get(slug="demo")


@pytest.mark.django_db(transaction=True)  # each session's recovery runs after its own commit, as in the embedded setup
def test_traffic_goes_through_the_pipeline_once(tenant, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # as in the embedded setup
    assert demo_traffic_seed(tenant=tenant, sessions=SESSIONS) == SESSIONS
    site = Site.objects.for_tenant(tenant).get(name=SITE_NAME)
    sessions = FormSession.objects.for_tenant(tenant).filter(site=site)
    assert sessions.count() == SESSIONS
    abandoned = sessions.filter(status=FormSession.Status.ABANDONED)
    submitted = sessions.filter(status=FormSession.Status.SUBMITTED)
    assert abandoned.exists() and submitted.exists()
    # every abandoned session was read by the model and carries its reason; submitted ones have no prediction
    assert Prediction.objects.for_tenant(tenant).filter(session__in=abandoned, final=True).count() == abandoned.count()
    assert not abandoned.filter(reason_code__isnull=True).exists()
    assert not Prediction.objects.for_tenant(tenant).filter(session__in=submitted).exists()
    # field figures for every ended session, spread over the last 30 days
    assert FieldStat.objects.for_tenant(tenant).values("session").distinct().count() == SESSIONS
    oldest = sessions.order_by("started_at").first().started_at
    assert timezone.now() - timedelta(days=31) < oldest < timezone.now() - timedelta(days=3)
    # the demo's rules, planned by the real planner; no simulated visitor reached the outbox
    assert set(RecoveryRule.objects.for_tenant(tenant).values_list("name", flat=True)) == {r["name"] for r in DEMO_RULES}
    assert ActionExecution.objects.for_tenant(tenant).filter(session__in=abandoned).exists()
    emailed = [m for m in mail.outbox if m.to[0].endswith("@example.test")]
    assert emailed, "the email rules sent their reminders"
    assert "example.test" not in capsys.readouterr().out  # to a throwaway outbox, not the operator's console

    today = timezone.localdate()
    scope = Scope(tenant=tenant, start=today - timedelta(days=31), end=today)
    figures = overview(scope)
    assert figures.started == SESSIONS and figures.submitted == submitted.count()
    assert figures.abandoned == abandoned.count()
    assert uplift_per_week(scope), "the recovery page has rows to show"

    assert demo_traffic_seed(tenant=tenant, sessions=SESSIONS) == 0  # once: the site already has traffic
    assert sessions.count() == SESSIONS


def test_existing_rules_are_kept(tenant):
    mine = recovery_rule_create(tenant=tenant, name="mine", action="suppress", class_code=5).rule
    demo_traffic_seed(tenant=tenant, sessions=5)
    assert list(RecoveryRule.objects.for_tenant(tenant)) == [mine]


def test_traffic_without_a_model_is_refused_by_the_command(db):
    with pytest.raises(CommandError, match="--traffic needs a model"):
        call_command("seed_demo", "--json", "--skip-model", "--traffic", "10")
