"""People to notify, and the training fixtures (tests/training/conftest.py) for the training events."""

import pytest

from formrecap.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.training.conftest import (  # noqa: F401 - fixtures, shared with the training tests
    modal_credentials,
    modal_double,
    modal_scripts,
    tiny_adapter,
    tiny_base,
    tiny_dataset,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def member(tenant, role: str, **user_fields):
    """A staff user with ``role`` in ``tenant``, named and addressed after both."""
    name = f"{tenant.slug}-{role}"
    user = UserFactory(username=user_fields.pop("username", name), email=user_fields.pop("email", f"{name}@example.com"))
    for field, value in user_fields.items():
        setattr(user, field, value)
    user.save()
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def owner(tenant):
    return member(tenant, Membership.Role.OWNER)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", email="root@example.com", is_superuser=True)
