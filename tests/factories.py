"""factory_boy factories for the core models (they write through the unscoped default manager)."""

import uuid

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from formrecap.credentials import new_site_key
from formrecap.models import FormSession, Membership, Site, Tenant, TraceChunk


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    allowed_origins = factory.LazyFunction(lambda: ["https://shop.example.com"])
    site_key = factory.LazyFunction(new_site_key)
    # Most tests are about what follows a final abandonment: an exit is final at once. Tests of the outreach
    # delay (tests/formrecap/test_lifecycle.py, the browser tests) set the production default.
    outreach_delay_seconds = 0


class FormSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormSession

    site = factory.SubFactory(SiteFactory)
    tenant = factory.SelfAttribute("site.tenant")
    session_uuid = factory.LazyFunction(uuid.uuid4)
    form_id = "signup"
    path = "/signup"
    started_at = factory.LazyFunction(timezone.now)
    last_event_at = factory.SelfAttribute("started_at")


class TraceChunkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TraceChunk

    session = factory.SubFactory(FormSessionFactory)
    seq = factory.Sequence(lambda n: n)
    events = factory.LazyFunction(lambda: [{"type": "focus", "field": "email", "ts": 0}])
    event_count = factory.LazyAttribute(lambda chunk: len(chunk.events))
