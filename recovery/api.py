"""Recovery API (``/api/v1/recovery/``): rules (CRUD, webhook secret rotation), the execution log, uplift stats,
UX alerts and discount redemption. Tenant-scoped through TenantApiView: another tenant's ids are simply not found."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from classifier.labels import CLASSES
from formrecap.api_base import TenantApiView
from formrecap.api_io import MAX_ID, PagePagination, QueryDateTimeField, StrictFloatField
from formrecap.api_schema import id_query_parameter

from .models import ActionExecution, RecoveryRule
from .selectors import action_execution_list, recovery_rule_list, ux_alert_list
from .services import (
    RULE_DEFAULTS,
    DiscountCodeExpired,
    DiscountCodeNotFound,
    DiscountCodeUsed,
    DiscountRedeemError,
    RuleSaved,
    discount_code_redeem,
    recovery_rule_create,
    recovery_rule_delete,
    recovery_rule_rotate_secret,
    recovery_rule_update,
)
from .stats import CONFIDENCE_LEVEL, recovery_uplift


def _service_errors(exc: DjangoValidationError) -> ValidationError:
    """A service's per-field ValidationError as DRF's 400 body ``{"field": ["message"]}``."""
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


# --- rules -------------------------------------------------------------------------------------------


class RuleInput(serializers.Serializer):
    """Types only; ranges, the site's tenant and the webhook URL are checked by recovery_rule_clean."""

    site = serializers.IntegerField(source="site_id", allow_null=True, required=False, help_text="a site id, or null for all")
    name = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)
    class_code = serializers.IntegerField(allow_null=True, required=False, help_text="1-6, or null for any class")
    custom_reason = serializers.IntegerField(
        source="custom_reason_id",
        allow_null=True,
        required=False,
        help_text="a custom reason id (/api/v1/custom-reasons/): only sessions whose best custom reason it is; null for any",
    )
    min_confidence = StrictFloatField(required=False, help_text="0-1, inclusive")
    max_confidence = StrictFloatField(required=False, help_text="0-1, inclusive")
    action = serializers.ChoiceField(choices=RecoveryRule.Action.choices)
    params = serializers.JSONField(
        required=False,
        help_text='an object: {"url": "https://…"} for a webhook; {"amount": "10%", "valid_days": 14, "via": "email"} for a '
        'discount; {"window_days": 7, "url": …} for a UX alert; {"allow_bots": true} lets a bot-class rule reach bots',
    )
    delay_seconds = serializers.IntegerField(required=False, help_text="at most 30 days")
    cooldown_seconds = serializers.IntegerField(required=False, help_text="per visitor")
    priority = serializers.IntegerField(required=False, help_text="higher wins")
    holdout_share = StrictFloatField(required=False, help_text="0-1: the share of matches kept as a control group")
    active = serializers.BooleanField(required=False)


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField(source="site_id", allow_null=True)
    name = serializers.CharField()
    class_code = serializers.IntegerField(allow_null=True)
    custom_reason = serializers.IntegerField(source="custom_reason_id", allow_null=True)
    min_confidence = serializers.FloatField()
    max_confidence = serializers.FloatField()
    action = serializers.CharField()
    params = serializers.JSONField()
    delay_seconds = serializers.IntegerField()
    cooldown_seconds = serializers.IntegerField()
    priority = serializers.IntegerField()
    holdout_share = serializers.FloatField()
    active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField(help_text="webhook deliveries that failed in a row")
    disabled_at = serializers.DateTimeField(allow_null=True, help_text="set when a failing webhook endpoint was disabled")
    created_at = serializers.DateTimeField()


class RuleSavedOutput(RuleOutput):
    secret = serializers.CharField(
        required=False,
        help_text="the signing secret (whsec_…) of a rule that sends webhooks: only in the response that created it",
    )


def _saved_response(saved: RuleSaved, status_code: int) -> Response:
    body = RuleOutput(saved.rule).data
    if saved.secret is not None:
        body["secret"] = saved.secret
    response = Response(body, status=status_code)
    if saved.secret is not None:
        response["Cache-Control"] = "no-store"
    return response


RULE_ERRORS = OpenApiResponse(description='a field is invalid: {"max_confidence": ["must be at least min_confidence"]}')


class RuleListApi(TenantApiView):
    pagination_class = PagePagination

    @extend_schema(responses=RuleOutput(many=True), description="The tenant's rules, in the order a decision tries them.")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(recovery_rule_list(tenant=self.tenant), request, view=self)
        return paginator.get_paginated_response(RuleOutput(page, many=True).data)

    @extend_schema(
        request=RuleInput,
        responses={201: RuleSavedOutput, 400: RULE_ERRORS},
        description="Create a rule. The response of a rule that sends webhooks (a webhook; a discount via webhook; a UX "
        "alert with a URL) carries its signing `secret`, once. Needs `write`.",
    )
    def post(self, request: Request) -> Response:
        body = RuleInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            saved = recovery_rule_create(tenant=self.tenant, **body.validated_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return _saved_response(saved, status.HTTP_201_CREATED)


class RuleDetailApi(TenantApiView):
    def _rule(self, rule_id: int) -> RecoveryRule:
        return get_object_or_404(recovery_rule_list(tenant=self.tenant), pk=rule_id)

    @extend_schema(responses=RuleOutput)
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(RuleOutput(self._rule(rule_id)).data)

    def _update(self, request: Request, rule_id: int, *, partial: bool) -> Response:
        rule = self._rule(rule_id)
        body = RuleInput(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        # PUT replaces the rule: what the body leaves out goes back to its default.
        changes = body.validated_data if partial else {**RULE_DEFAULTS, **body.validated_data}
        try:
            saved = recovery_rule_update(rule=rule, **changes)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return _saved_response(saved, status.HTTP_200_OK)

    @extend_schema(
        request=RuleInput,
        responses={200: RuleSavedOutput, 400: RULE_ERRORS},
        description="Replace a rule. A rule that starts sending webhooks gets a signing `secret`, in this response only.",
    )
    def put(self, request: Request, rule_id: int) -> Response:
        return self._update(request, rule_id, partial=False)

    @extend_schema(
        request=RuleInput(partial=True),
        responses={200: RuleSavedOutput, 400: RULE_ERRORS},
        description="Change some fields of a rule. A new webhook `params.url` re-enables a disabled endpoint.",
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        return self._update(request, rule_id, partial=True)

    @extend_schema(responses={204: None}, description="Delete a rule; its executions stay in the log.")
    def delete(self, request: Request, rule_id: int) -> Response:
        recovery_rule_delete(rule=self._rule(rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleRotateSecretApi(TenantApiView):
    @extend_schema_serializer(component_name="RotatedSecret")
    class OutputSerializer(serializers.Serializer):
        secret = serializers.CharField(help_text="the new signing secret (whsec_…), shown once")

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, 400: OpenApiResponse(description="the rule sends no webhooks")},
        description="A new signing secret for a rule that sends webhooks; the previous ones stay valid for 24 hours, "
        "and deliveries carry a signature for each valid secret meanwhile.",
    )
    def post(self, request: Request, rule_id: int) -> Response:
        rule = get_object_or_404(recovery_rule_list(tenant=self.tenant), pk=rule_id)
        try:
            secret = recovery_rule_rotate_secret(rule=rule)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        response = Response(self.OutputSerializer({"secret": secret}).data)
        response["Cache-Control"] = "no-store"
        return response


# --- executions ---------------------------------------------------------------------------------------


class ActionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    session = serializers.IntegerField(source="session_id")
    rule = serializers.IntegerField(source="rule_id", allow_null=True, help_text="null for the fallback (or a deleted rule)")
    prediction = serializers.IntegerField(source="prediction_id", allow_null=True)
    action = serializers.CharField()
    class_code = serializers.IntegerField()
    locals()["class"] = serializers.SerializerMethodField()  # "class" is a keyword: put into the namespace by name
    confidence = serializers.FloatField()
    status = serializers.CharField()
    run_after = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    detail = serializers.JSONField(help_text="what was sent, or why it was skipped, held out or failed")
    idempotency_key = serializers.CharField()
    recovered_at = serializers.DateTimeField(allow_null=True, help_text="when the session was submitted after all")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_class(self, execution: ActionExecution) -> str:
        return CLASSES[execution.class_code]


class ActionListApi(TenantApiView):
    pagination_class = PagePagination

    class FilterInput(serializers.Serializer):
        rule = serializers.IntegerField(source="rule_id", required=False, min_value=1, max_value=MAX_ID)
        status = serializers.ChoiceField(choices=ActionExecution.Status.choices, required=False)
        session = serializers.IntegerField(source="session_id", required=False, min_value=1, max_value=MAX_ID)

    @extend_schema(
        parameters=[
            id_query_parameter("rule"),
            OpenApiParameter("status", str, enum=ActionExecution.Status.values),
            id_query_parameter("session"),
        ],
        responses=ActionOutput(many=True),
        description="The execution log, newest first: one row per session and rule (plus the fallback).",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            action_execution_list(tenant=self.tenant, **filters.validated_data), request, view=self
        )
        return paginator.get_paginated_response(ActionOutput(page, many=True).data)


class ActionDetailApi(TenantApiView):
    @extend_schema(responses=ActionOutput)
    def get(self, request: Request, action_id: int) -> Response:
        execution = get_object_or_404(action_execution_list(tenant=self.tenant), pk=action_id)
        return Response(ActionOutput(execution).data)


# --- stats and alerts ----------------------------------------------------------------------------------


class UpliftOutput(serializers.Serializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField()
    action = serializers.CharField()
    class_code = serializers.IntegerField()
    locals()["class"] = serializers.CharField(source="class_name")
    treated_n = serializers.IntegerField(source="treated.n")
    treated_recovered = serializers.IntegerField(source="treated.recovered")
    treated_rate = serializers.FloatField(source="treated.rate", allow_null=True)
    holdout_n = serializers.IntegerField(source="holdout.n")
    holdout_recovered = serializers.IntegerField(source="holdout.recovered")
    holdout_rate = serializers.FloatField(source="holdout.rate", allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="treated rate minus holdout rate")
    ci_low = serializers.SerializerMethodField()
    ci_high = serializers.SerializerMethodField()

    def get_ci_low(self, row) -> float | None:
        return None if row.ci is None else row.ci[0]

    def get_ci_high(self, row) -> float | None:
        return None if row.ci is None else row.ci[1]


class StatsApi(TenantApiView):
    class FilterInput(serializers.Serializer):
        rule = serializers.IntegerField(source="rule_id", required=False, min_value=1, max_value=MAX_ID)
        since = QueryDateTimeField(required=False)
        until = QueryDateTimeField(required=False)

    @extend_schema_serializer(component_name="RecoveryStats")
    class OutputSerializer(serializers.Serializer):
        confidence_level = serializers.FloatField()
        results = UpliftOutput(many=True)

    @extend_schema(
        parameters=[
            id_query_parameter("rule"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601; executions created at or after"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="ISO 8601; executions created before"),
        ],
        responses=OutputSerializer,
        description="Per rule and class: recovery rate of treated sessions vs the holdout group, their difference "
        "and its 95% confidence interval (Newcombe's hybrid score interval; null while an arm is empty).",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = recovery_uplift(tenant=self.tenant, **filters.validated_data)
        return Response(self.OutputSerializer({"confidence_level": CONFIDENCE_LEVEL, "results": rows}).data)


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField(source="site_id")
    rule = serializers.IntegerField(source="rule_id", allow_null=True)
    field = serializers.CharField()
    reason = serializers.CharField(help_text="the most frequent validation reason")
    sessions = serializers.IntegerField()
    validation_abandonments = serializers.IntegerField()
    rate = serializers.FloatField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class AlertListApi(TenantApiView):
    pagination_class = PagePagination

    class FilterInput(serializers.Serializer):
        site = serializers.IntegerField(source="site_id", required=False, min_value=1, max_value=MAX_ID)
        open = serializers.BooleanField(source="is_open", required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[
            id_query_parameter("site"),
            OpenApiParameter("open", {"type": "boolean", "nullable": True}, description="true: unresolved only"),
        ],
        responses=AlertOutput(many=True),
        description="UX alerts: fields whose validation-error abandonment rate crossed the tenant's threshold.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(ux_alert_list(tenant=self.tenant, **filters.validated_data), request, view=self)
        return paginator.get_paginated_response(AlertOutput(page, many=True).data)


# --- discount codes ------------------------------------------------------------------------------------


def _printable(value: str) -> None:
    if not value.isprintable():
        raise ValidationError("must be printable text (no control characters or line breaks)")


class DiscountRedeemApi(TenantApiView):
    @extend_schema_serializer(component_name="DiscountRedeemInput")
    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=32, help_text="the code the visitor was sent (FR-…)")
        order_ref = serializers.CharField(
            max_length=128, validators=[_printable], help_text="your order's reference: repeating it repeats the redemption"
        )

    @extend_schema_serializer(component_name="DiscountRedemption")
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        amount = serializers.CharField()
        redeemed_at = serializers.DateTimeField()
        order_ref = serializers.CharField()
        session = serializers.IntegerField(source="execution.session_id", help_text="the session the code was sent for")

    REFUSALS = {DiscountCodeNotFound: 404, DiscountCodeExpired: 410, DiscountCodeUsed: 409}

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description='a field is missing or invalid: {"order_ref": ["This field may not be blank."]}'),
            401: OpenApiResponse(description="no valid API key"),
            403: OpenApiResponse(description="the API key lacks the write scope"),
            404: OpenApiResponse(description='no such code for this tenant: {"detail": "no such discount code"}'),
            409: OpenApiResponse(description="the code was already redeemed for another order"),
            410: OpenApiResponse(description="the code has expired"),
        },
        description="Redeem a discount code for an order, once. The session the code was sent for (and every action "
        "taken about it) counts as recovered. Repeating the call with the same `order_ref` answers 200 with the first "
        "redemption, unchanged; another `order_ref` answers 409. Needs `write`.",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            discount = discount_code_redeem(tenant=self.tenant, **body.validated_data)
        except DiscountRedeemError as exc:
            return Response({"detail": str(exc)}, status=self.REFUSALS[type(exc)])
        return Response(self.OutputSerializer(discount).data)
