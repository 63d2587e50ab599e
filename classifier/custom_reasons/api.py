"""``/api/v1/custom-reasons/``: a tenant's custom reasons (CRUD) and their example sessions.

Tenant-scoped through TenantApiView: another tenant's reason ids are not found (404), and another tenant's
session ids are unknown examples (400, named like ids that do not exist).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from formrecap.api_base import TenantApiView
from formrecap.api_io import MAX_ID, PagePagination

from ..models import CustomReason, CustomReasonExample
from .prototypes import MIN_EXAMPLES
from .selectors import NAME_PATTERN, custom_reason_list
from .services import (
    MAX_EXAMPLES_PER_REASON,
    custom_reason_create,
    custom_reason_delete,
    custom_reason_example_remove,
    custom_reason_examples_add,
    custom_reason_update,
)

SESSION_IDS = serializers.ListField(
    child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=MAX_EXAMPLES_PER_REASON
)


def _service_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class ReasonInput(serializers.Serializer):
    """Types only; names, parents and example sessions are checked by the services."""

    name = serializers.RegexField(
        f"^{NAME_PATTERN}$",
        max_length=64,
        help_text="lowercase letters, digits and _, starting with a letter: coupon_hunting",
        error_messages={"invalid": "is not a reason name: lowercase letters, digits and _, starting with a letter, ≤ 64"},
    )
    description = serializers.CharField(allow_blank=True, required=False, max_length=2000, help_text="shown to LLMs")
    parent_code = serializers.IntegerField(
        allow_null=True,
        required=False,
        min_value=1,
        max_value=6,
        help_text="the class it splits, 1-6; null: any",
        error_messages=dict.fromkeys(("min_value", "max_value"), "unknown parent class: a class code 1-6, or null for any class"),
    )
    examples = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=MIN_EXAMPLES,
        max_length=MAX_EXAMPLES_PER_REASON,
        help_text=f"ids of sessions that show this reason, at least {MIN_EXAMPLES}",
    )


class ReasonChangeInput(ReasonInput):
    examples = None  # examples change through /examples/


class ReasonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    parent_code = serializers.IntegerField(allow_null=True)
    parent = serializers.CharField(source="parent_label", help_text="the parent class's name, or 'any class'")
    examples = serializers.SerializerMethodField(help_text="the example sessions' ids")
    ready = serializers.SerializerMethodField(help_text=f"false until it has {MIN_EXAMPLES} examples: not used before")
    loo_accuracy = serializers.SerializerMethodField(help_text="share of its examples read back as it, each held out")
    confusion = serializers.SerializerMethodField(help_text="held-out examples read as a sibling (by name) or 'none'")
    created_at = serializers.DateTimeField()

    def get_examples(self, reason) -> list[int]:
        return list(reason.examples.order_by("id").values_list("session_id", flat=True))

    def get_ready(self, reason) -> bool:
        return bool(reason.fit.get("ready"))

    def get_loo_accuracy(self, reason) -> float | None:
        return reason.fit.get("loo_accuracy")

    def get_confusion(self, reason) -> dict[str, int]:
        return reason.fit.get("confusion", {})


class ExamplesInput(serializers.Serializer):
    sessions = SESSION_IDS


class ExamplesAdded(serializers.Serializer):
    added = serializers.IntegerField(help_text="sessions newly attached (already attached ones are kept once)")
    reason = ReasonOutput()


ERRORS_400 = OpenApiResponse(
    description='a field is invalid: {"name": ["a custom reason named \'x\' already exists"]}, {"parent_code": '
    '["unknown parent class 9 …"]}, {"examples": ["unknown session id(s): 7"]}'
)


class CustomReasonListApi(TenantApiView):
    pagination_class = PagePagination

    @extend_schema(responses=ReasonOutput(many=True), description="The tenant's custom reasons by name.")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(custom_reason_list(tenant=self.tenant), request, view=self)
        return paginator.get_paginated_response(ReasonOutput(page, many=True).data)

    @extend_schema(
        request=ReasonInput,
        responses={201: ReasonOutput, 400: ERRORS_400},
        description=f"Define a reason from at least {MIN_EXAMPLES} example sessions. Needs `write`.",
    )
    def post(self, request: Request) -> Response:
        body = ReasonInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            reason = custom_reason_create(tenant=self.tenant, **body.validated_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(ReasonOutput(reason).data, status=status.HTTP_201_CREATED)


class CustomReasonDetailApi(TenantApiView):
    def _reason(self, reason_id: int) -> CustomReason:
        return get_object_or_404(custom_reason_list(tenant=self.tenant), pk=reason_id)

    @extend_schema(responses=ReasonOutput)
    def get(self, request: Request, reason_id: int) -> Response:
        return Response(ReasonOutput(self._reason(reason_id)).data)

    @extend_schema(request=ReasonChangeInput(partial=True), responses={200: ReasonOutput, 400: ERRORS_400})
    def patch(self, request: Request, reason_id: int) -> Response:
        reason = self._reason(reason_id)
        body = ReasonChangeInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            reason = custom_reason_update(reason=reason, **body.validated_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(ReasonOutput(reason).data)

    @extend_schema(
        responses={204: None, 409: OpenApiResponse(description="a recovery rule matches on this reason")},
        description="Delete a reason and its examples; its past readings keep no reason.",
    )
    def delete(self, request: Request, reason_id: int) -> Response:
        try:
            custom_reason_delete(reason=self._reason(reason_id))
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomReasonExamplesApi(TenantApiView):
    @extend_schema(
        request=ExamplesInput,
        responses={200: ExamplesAdded, 400: ERRORS_400},
        description="Attach sessions as examples; the reason is refitted and its figures updated.",
    )
    def post(self, request: Request, reason_id: int) -> Response:
        reason = get_object_or_404(custom_reason_list(tenant=self.tenant), pk=reason_id)
        body = ExamplesInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            added = custom_reason_examples_add(reason=reason, session_ids=body.validated_data["sessions"])
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        reason.refresh_from_db()
        return Response(ExamplesAdded({"added": added, "reason": reason}).data)


class CustomReasonExampleDetailApi(TenantApiView):
    @extend_schema(responses={204: None}, description=f"Detach one example (below {MIN_EXAMPLES} the reason is unused).")
    def delete(self, request: Request, reason_id: int, session_id: int) -> Response:
        reason = get_object_or_404(custom_reason_list(tenant=self.tenant), pk=reason_id)
        try:
            custom_reason_example_remove(reason=reason, session_id=session_id)
        except CustomReasonExample.DoesNotExist as exc:
            raise NotFound(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
