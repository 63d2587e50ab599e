"""API authentication: a secret key (``Authorization: Bearer sk_…``) resolves the tenant, once."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .credentials import API_SECRET_PREFIX
from .lockout import api_key_subjects, client_ip, failure_record, lockout_remaining_seconds
from .models import ApiKey
from .selectors import api_key_resolve
from .services import api_key_touch


class TenantPrincipal:
    """The authenticated caller: a tenant acting through one API key (there is no user)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.tenant = api_key.tenant

    def __str__(self) -> str:
        return f"{self.tenant} via {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, secret = header.partition(" ")
        if keyword != self.keyword or not secret.strip():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer sk_…'")
        secret = secret.strip()
        if not secret.startswith(API_SECRET_PREFIX):
            raise exceptions.AuthenticationFailed("API secret must start with sk_ (pk_ site keys are for the snippet only)")
        # Guessing keys: after too many wrong ones from this address, every key is refused unchecked for a while.
        subjects = api_key_subjects(ip=client_ip(request))
        wait = lockout_remaining_seconds(subjects)
        if wait:
            raise exceptions.Throttled(wait=wait, detail="too many wrong API keys from this address")
        api_key = api_key_resolve(secret=secret)
        if api_key is None:
            failure_record(subjects)
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        api_key_touch(api_key=api_key, min_interval_seconds=settings.FORMRECAP_API_KEY_TOUCH_SECONDS)
        return TenantPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the credential is missing or wrong.
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the scheme in OpenAPI, so Swagger UI offers an Authorize button."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A secret API key, `sk_…`, created in admin."}
