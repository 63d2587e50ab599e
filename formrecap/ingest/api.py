"""``POST /api/v1/ingest/``: the public endpoint the snippet sends batches to.

Checks run cheapest first and every refusal is a 4xx naming the problem:
content type (415), size (413), JSON and schema (400), site key (401/403),
origin (403), rate (429), per-session caps (413/429).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from ..api_io import body_too_large_detail
from ..api_schema import ErrorOutput
from ..selectors import origin_allowed_by_any_site, site_for_ingest
from .cors import allow_origin, vary_on_origin
from .openapi import batch_schema
from .schema import SchemaError, parse_batch_json
from .services import BatchConflict, SessionLimitExceeded, ingest_batch

ACCEPTED_CONTENT_TYPES = ("application/json", "text/plain")


class IngestRateThrottle(SimpleRateThrottle):
    """Per site key and client IP; called by the view once the site key is known."""

    scope = "ingest"

    def get_rate(self) -> str | None:
        # Read at call time so that settings changes (tests, reloads) apply; empty means unthrottled.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or None

    def allow(self, request: HttpRequest, site_key: str) -> bool:
        """A counter per fixed window of the rate's duration: one atomic increment per batch (one cache round trip),
        where DRF's sliding history reads and rewrites a list (two, and racy between workers)."""
        if self.rate is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.retry_after = max(1, int((window + 1) * self.duration - now + 0.999))
        key = self.cache_format % {"scope": self.scope, "ident": f"{site_key}:{self.get_ident(request)}:{window}"}
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first batch
            count = 1 if self.cache.add(key, 1, self.duration) else self.cache.incr(key)
        return count <= self.num_requests

    def get_cache_key(self, request, view):  # pragma: no cover - the view calls allow() instead
        return None


def _error(message: str, code: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=code)


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (read at most limit+1 bytes)."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


class IngestOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    session_status = serializers.CharField()


class IngestApi(APIView):
    """An APIView for the schema (drf-spectacular reads ``post``), answered as a plain Django view: the hottest
    endpoint needs no authentication, content negotiation or renderer, and DRF's request wrapping and response
    rendering were a sixth of a server worker's CPU per batch (bench/ingest.py)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    http_method_names = ["post", "options"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.args, self.kwargs, self.request = args, kwargs, request
        if request.method == "POST":
            return self.post(request)
        if request.method == "OPTIONS":
            return self.options(request)
        refused = _error(f'Method "{request.method}" not allowed.', status.HTTP_405_METHOD_NOT_ALLOWED)
        refused["Allow"] = "POST, OPTIONS"
        return refused

    @extend_schema(
        request={"application/json": batch_schema(), "text/plain": batch_schema()},
        parameters=[OpenApiParameter("Origin", str, OpenApiParameter.HEADER, description="one of the site's allowed origins")],
        responses={
            202: IngestOutput,
            200: OpenApiResponse(IngestOutput, description="duplicate batch, already stored"),
            400: OpenApiResponse(ErrorOutput, description="not JSON, or not the schema: the message names the field"),
            401: OpenApiResponse(ErrorOutput, description="unknown site key"),
            403: OpenApiResponse(ErrorOutput, description="no Origin, an origin the site does not allow, or an inactive site"),
            413: OpenApiResponse(
                ErrorOutput, description="body over FORMRECAP_INGEST_MAX_BODY_BYTES, or the session's event cap"
            ),
            415: OpenApiResponse(ErrorOutput, description="Content-Type is not application/json or text/plain"),
            409: OpenApiResponse(ErrorOutput, description="this seq is already stored with other content"),
            429: OpenApiResponse(ErrorOutput, description="too many batches from this client, or the session's batch cap"),
            503: OpenApiResponse(ErrorOutput, description="the database is away for a moment: retry after Retry-After"),
        },
        description="Receive one batch of raw snippet events (public; site key + Origin). Timestamps must not decrease "
        "and sent_at must not be before the last event.",
    )
    def post(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        response = self._ingest(request, origin)
        return vary_on_origin(response)

    def _ingest(self, request: HttpRequest, origin: str) -> HttpResponse:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_CONTENT_TYPES:
            return _error(f"Content-Type must be application/json or text/plain, got {content_type or 'none'!r}", 415)
        limit = settings.FORMRECAP_INGEST_MAX_BODY_BYTES
        body = _read_body(request, limit)
        if body is None:
            detail = body_too_large_detail(limit, "FORMRECAP_INGEST_MAX_BODY_BYTES")
            return _error(detail, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            batch = parse_batch_json(body, max_events=settings.FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH)
        except SchemaError as exc:
            return _error(str(exc), status.HTTP_400_BAD_REQUEST)

        site = site_for_ingest(site_key=batch.site_key)
        if site is None:
            return _error("site_key: unknown site key", status.HTTP_401_UNAUTHORIZED)
        if not origin:
            return _error("Origin header is required", status.HTTP_403_FORBIDDEN)
        if origin not in site.allowed_origins:
            return _error(f"origin {origin[:200]!r} is not allowed for this site", status.HTTP_403_FORBIDDEN)
        # From here the origin is the site's own, so the snippet may read our answer.
        if not site.is_active:
            return allow_origin(_error("site is inactive", status.HTTP_403_FORBIDDEN), origin)
        throttle = IngestRateThrottle()
        if not throttle.allow(request, batch.site_key):
            refused = _error("too many batches from this client, slow down", status.HTTP_429_TOO_MANY_REQUESTS)
            refused["Retry-After"] = str(throttle.retry_after)
            return allow_origin(refused, origin)

        try:
            result = ingest_batch(site=site, batch=batch)
        except SessionLimitExceeded as exc:
            return allow_origin(_error(str(exc), exc.status_code), origin)
        except BatchConflict as exc:
            return allow_origin(_error(str(exc), status.HTTP_409_CONFLICT), origin)
        payload = {"status": "duplicate" if result.duplicate else "accepted", "session_status": result.session.status}
        code = status.HTTP_200_OK if result.duplicate else status.HTTP_202_ACCEPTED
        return allow_origin(JsonResponse(payload, status=code), origin)

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        response = HttpResponse(status=status.HTTP_204_NO_CONTENT)
        if origin and origin_allowed_by_any_site(origin=origin):
            allow_origin(response, origin)
        return vary_on_origin(response)
