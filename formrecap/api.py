"""Tenant-scoped read API: sites and form sessions (with their trace and latest prediction)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from classifier.api import PredictionOutput, PredictionSummaryOutput
from classifier.labels import CLASSES, CODES
from classifier.selectors import session_trace
from classifier.trace import TraceError, serialise_trace

from .api_base import TenantApiView
from .api_io import PagePagination, QueryDateTimeField, StrictFloatField
from .api_schema import id_query_parameter
from .models import FormSession, Site
from .selectors import form_session_events, form_session_list, site_list
from .services import site_classifier_update


class SiteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    site_key = serializers.CharField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    abandonment_timeout_seconds = serializers.IntegerField(help_text="no events for this long: abandoned for good")
    outreach_delay_seconds = serializers.IntegerField(help_text="after the page is gone: wait this long for a return")
    attribution_window_seconds = serializers.IntegerField(help_text="a later submit by the visitor within it recovers")
    is_active = serializers.BooleanField()
    classifier_backend = serializers.ChoiceField(choices=Site.Backend.choices, help_text="what classifies its sessions")
    escalation_backend = serializers.ChoiceField(
        choices=Site.Escalation.choices, help_text="cascade: the LLM backend asked when the embedded model is unsure"
    )
    escalation_threshold = serializers.FloatField(help_text="cascade: embedded confidence below this escalates")
    created_at = serializers.DateTimeField()


class SiteListApi(TenantApiView):
    @extend_schema(responses=SiteOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(SiteOutput(site_list(tenant=self.tenant), many=True).data)


class SiteClassifierInput(serializers.Serializer):
    classifier_backend = serializers.ChoiceField(choices=Site.Backend.choices, required=False)
    escalation_backend = serializers.ChoiceField(choices=Site.Escalation.choices, required=False)
    escalation_threshold = StrictFloatField(min_value=0.0, max_value=1.0, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            # a typo (or a field not settable here) must not be silently ignored
            raise serializers.ValidationError({name: [f"not settable here; send {', '.join(self.fields)}"] for name in unknown})
        values = super().to_internal_value(data)
        if not values:
            raise serializers.ValidationError({"non_field_errors": [f"nothing to change: send {', '.join(self.fields)}"]})
        return values


class SiteDetailApi(TenantApiView):
    @extend_schema(responses=SiteOutput)
    def get(self, request: Request, site_id: int) -> Response:
        site = get_object_or_404(site_list(tenant=self.tenant), pk=site_id)
        return Response(SiteOutput(site).data)

    @extend_schema(request=SiteClassifierInput, responses=SiteOutput)
    def patch(self, request: Request, site_id: int) -> Response:
        """Change what classifies the site's sessions (needs a write key): the backend, and the cascade's settings."""
        get_object_or_404(site_list(tenant=self.tenant), pk=site_id)
        values = SiteClassifierInput(data=request.data)
        values.is_valid(raise_exception=True)
        try:
            site = site_classifier_update(tenant=self.tenant, site_id=site_id, **values.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(SiteOutput(site).data)


def _latest_prediction(session: FormSession):
    """From the prefetch form_session_list sets up, so a page of sessions costs one query for all predictions."""
    newest_first = session.predictions_newest_first
    return newest_first[0] if newest_first else None


class SessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    session_id = serializers.UUIDField(source="session_uuid")
    site = serializers.IntegerField(source="site_id")
    form_id = serializers.CharField()
    path = serializers.CharField()
    status = serializers.CharField()
    visitor_ref = serializers.CharField()
    started_at = serializers.DateTimeField()
    last_event_at = serializers.DateTimeField()
    exited_at = serializers.DateTimeField(allow_null=True, help_text="when the page was last seen going away")
    hidden_at = serializers.DateTimeField(allow_null=True, help_text="set while the tab is hidden")
    abandoned_at = serializers.DateTimeField(allow_null=True, help_text="when it was abandoned for good")
    submitted_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True, help_text="the visitor came back after leaving it")
    recovered_at = serializers.DateTimeField(allow_null=True, help_text="the visitor submitted within the attribution window")
    batch_count = serializers.IntegerField()
    event_count = serializers.IntegerField()
    prediction = serializers.SerializerMethodField(help_text="the latest prediction, or null if not classified")

    @extend_schema_field(PredictionSummaryOutput(allow_null=True))
    def get_prediction(self, session: FormSession) -> dict | None:
        latest = _latest_prediction(session)
        return None if latest is None else PredictionSummaryOutput(latest).data


class SessionDetailOutput(SessionOutput):
    events = serializers.SerializerMethodField()
    trace = serializers.SerializerMethodField(help_text="the events in the trace language, or null without events")
    prediction = serializers.SerializerMethodField(help_text="the latest prediction, or null if not classified")

    def get_events(self, session: FormSession) -> list[dict]:
        return form_session_events(session=session)

    def get_trace(self, session: FormSession) -> str | None:
        if not session.event_count:
            return None
        try:
            return serialise_trace(session_trace(session=session))
        except TraceError:  # stored events that make no trace (none at all): nothing to show
            return None

    @extend_schema_field(PredictionOutput(allow_null=True))
    def get_prediction(self, session: FormSession) -> dict | None:
        latest = _latest_prediction(session)
        return None if latest is None else PredictionOutput(latest).data


class PredictedClassField(serializers.Field):
    """A class code (1-6) or name (``distraction``) → the code."""

    default_error_messages = {"invalid": f"must be a class code 1-6 or one of: {', '.join(CLASSES.values())}"}
    accepted = {**CODES, **{str(code): code for code in CLASSES}}

    def to_internal_value(self, data) -> int:
        code = self.accepted.get(str(data).strip())
        if code is None:
            self.fail("invalid")
        return code

    def to_representation(self, value: int) -> int:
        return value


class SessionListApi(TenantApiView):
    pagination_class = PagePagination

    class FilterInput(serializers.Serializer):
        site = serializers.IntegerField(source="site_id", required=False, min_value=1, max_value=2**63 - 1)
        status = serializers.ChoiceField(choices=FormSession.Status.choices, required=False)
        started_after = QueryDateTimeField(required=False)
        started_before = QueryDateTimeField(required=False)
        # "class" is a Python keyword, so the field is put into the class namespace by name.
        locals()["class"] = PredictedClassField(source="predicted_class", required=False)
        custom_reason = serializers.IntegerField(source="custom_reason_id", required=False, min_value=1, max_value=2**63 - 1)

    @extend_schema(
        parameters=[
            id_query_parameter("site"),
            id_query_parameter("custom_reason", "a custom reason id: sessions whose latest prediction carries it"),
            OpenApiParameter("status", str, enum=FormSession.Status.values),
            OpenApiParameter("started_after", OpenApiTypes.DATETIME, description="ISO 8601"),
            OpenApiParameter("started_before", OpenApiTypes.DATETIME, description="ISO 8601"),
            OpenApiParameter(
                "class",
                str,
                enum=[*map(str, CLASSES), *CLASSES.values()],
                description="the class (code or name) of the session's latest prediction",
            ),
        ],
        responses=SessionOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        sessions = form_session_list(tenant=self.tenant, **filters.validated_data)
        page = paginator.paginate_queryset(sessions, request, view=self)
        return paginator.get_paginated_response(SessionOutput(page, many=True).data)


class SessionDetailApi(TenantApiView):
    @extend_schema(responses=SessionDetailOutput)
    def get(self, request: Request, session_id: int) -> Response:
        session = get_object_or_404(form_session_list(tenant=self.tenant), pk=session_id)
        return Response(SessionDetailOutput(session).data)
