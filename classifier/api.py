"""Classification API: ``POST /api/v1/classify/`` (one trace) and ``POST /api/v1/classify/batch/`` (up to 1,000).

A trace is a terse string (``focus:email, input:email(x8), exit``) or a list of raw snippet events.
Like every POST, these need a key with the ``write`` scope (HasTenant): each classification is
stored as a Prediction of the caller's tenant. Also holds the prediction serializers that the
sessions API embeds.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from formrecap.api_base import TenantApiView
from formrecap.api_io import AsciiJSONRenderer, JSONBodyParser
from formrecap.models import Tenant

from .backends import DEFAULT_BACKEND, SERVING_BACKENDS, BackendUnavailable
from .labels import CLASSES
from .services import TimedClassifications, classify_traces, predictions_create_for_request
from .trace import Trace, TraceError, trace_from_input

MAX_BATCH_TRACES = 1000


class ClassifierUnavailable(APIException):
    status_code = 503
    default_detail = "the classifier is unavailable"
    default_code = "classifier_unavailable"


class InvalidTrace(APIException):
    """400 ``{"detail": "...", "position": 3}`` (plus ``"index"`` in a batch); position is null for whole-trace problems."""

    status_code = 400
    default_code = "invalid_trace"

    def __init__(self, error: TraceError, index: int | None = None) -> None:
        where = {} if index is None else {"index": index}
        message = str(error) if index is None else f"traces[{index}]: {error}"
        self.detail = {"detail": message, **where, "position": error.position}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "focus:email, input:email(x8), blur:email(invalid_format), exit"},
            {"type": "array", "items": {"type": "object"}, "description": "raw snippet events"},
        ]
    }
)
class TraceInputField(serializers.Field):
    """A terse trace string or a list of raw events; only the shape is checked here, the trace itself by the parser."""

    default_error_messages = {"invalid": "must be a terse trace string or a list of raw events"}

    def to_internal_value(self, data):
        if not isinstance(data, str | list):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class ExplanationOutput(serializers.Serializer):
    signals = serializers.ListField(child=serializers.CharField(), help_text="the evidence, strongest first")
    reason = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "properties": {str(code): {"type": "number", "description": name} for code, name in CLASSES.items()},
        "description": "the probability of each class code; they sum to 1",
    }
)
class ProbabilitiesField(serializers.DictField):
    child = serializers.FloatField()


class ConfidenceField(serializers.FloatField):
    """Rounded like the probabilities (6 places), so it equals the predicted class's probability exactly."""

    def to_representation(self, value) -> float:
        return round(float(value), 6)


class ClassificationOutput(serializers.Serializer):
    code = serializers.IntegerField(min_value=1, max_value=6)
    # "class" is a Python keyword, so the field is put into the class namespace by name.
    locals()["class"] = serializers.ChoiceField(choices=list(CLASSES.values()), source="label")
    probabilities = ProbabilitiesField(source="probabilities_by_code")
    confidence = ConfidenceField(help_text="the probability of the predicted class")
    calibrated = serializers.BooleanField(help_text="false when the backend gives only a verbalized confidence")
    model_version = serializers.CharField()
    explanation = ExplanationOutput()
    latency_ms = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_latency_ms(self, classification) -> float:
        return self.context["latency_ms_per_trace"]


class PredictionSummaryOutput(serializers.Serializer):
    """A stored prediction as a session list row shows it."""

    code = serializers.IntegerField(min_value=1, max_value=6)
    locals()["class"] = serializers.ChoiceField(choices=list(CLASSES.values()), source="label")
    confidence = ConfidenceField()
    calibrated = serializers.BooleanField()
    final = serializers.BooleanField(help_text="false: a provisional reading (tab hidden, page just left); recovery waits")
    model_version = serializers.CharField(source="model_version.label", allow_null=True)
    custom_reason = serializers.CharField(
        source="custom_reason.name", allow_null=True, help_text="the tenant's best custom reason, or null when none is close"
    )
    custom_reason_score = serializers.FloatField(allow_null=True)


class PredictionOutput(PredictionSummaryOutput):
    """A stored prediction in full, as a session's detail shows it."""

    probabilities = ProbabilitiesField()
    explanation = ExplanationOutput()
    backend = serializers.CharField()
    routing = serializers.DictField(help_text="cascade: which backend answered and why ({} otherwise)")
    latency_ms = serializers.FloatField()
    created_at = serializers.DateTimeField()


def _classify_and_record(*, tenant: Tenant, traces: list[Trace], backend: str) -> TimedClassifications:
    try:
        result = classify_traces(traces=traces, backend_name=backend)
    except BackendUnavailable as exc:
        raise ClassifierUnavailable(str(exc)) from exc
    predictions_create_for_request(tenant=tenant, result=result)
    return result


class ClassifyApi(TenantApiView):
    parser_classes = [JSONBodyParser]
    renderer_classes = [AsciiJSONRenderer]

    @extend_schema_serializer(component_name="ClassifyRequest")
    class InputSerializer(serializers.Serializer):
        events = TraceInputField(help_text="a terse trace string, or the list of raw snippet events")
        backend = serializers.ChoiceField(choices=SERVING_BACKENDS, default=DEFAULT_BACKEND)

    OutputSerializer = ClassificationOutput

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description='bad body or trace: {"detail": "token 3 \'x\': …", "position": 3}'),
            503: OpenApiResponse(description="no model can classify right now (e.g. no active embedded model)"),
        },
        description="Classify one trace and record the prediction. Needs the `write` scope.",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            trace = trace_from_input(body.validated_data["events"])
        except TraceError as exc:
            raise InvalidTrace(exc) from None
        result = _classify_and_record(tenant=self.tenant, traces=[trace], backend=body.validated_data["backend"])
        output = self.OutputSerializer(result.classifications[0], context={"latency_ms_per_trace": round(result.latency_ms, 3)})
        return Response(output.data)


class ClassifyBatchApi(TenantApiView):
    parser_classes = [JSONBodyParser]
    renderer_classes = [AsciiJSONRenderer]

    @extend_schema_serializer(component_name="ClassifyBatchRequest")
    class InputSerializer(serializers.Serializer):
        traces = serializers.ListField(child=TraceInputField(), min_length=1, max_length=MAX_BATCH_TRACES)
        backend = serializers.ChoiceField(choices=SERVING_BACKENDS, default=DEFAULT_BACKEND)

    @extend_schema_serializer(component_name="ClassifyBatchResponse")
    class OutputSerializer(serializers.Serializer):
        results = ClassificationOutput(many=True)
        latency_ms = serializers.FloatField(help_text="for the whole batch; each result carries its share")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description='bad body or trace: {"detail": "traces[7]: token 3 …", "index": 7, "position": 3}'),
            503: OpenApiResponse(description="no model can classify right now (e.g. no active embedded model)"),
        },
        description=f"Classify 1 to {MAX_BATCH_TRACES} traces in order and record the predictions; "
        "one bad trace refuses the whole batch. Needs the `write` scope.",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        traces = []
        for index, value in enumerate(body.validated_data["traces"]):
            try:
                traces.append(trace_from_input(value))
            except TraceError as exc:
                raise InvalidTrace(exc, index=index) from None
        result = _classify_and_record(tenant=self.tenant, traces=traces, backend=body.validated_data["backend"])
        output = self.OutputSerializer(
            {"results": result.classifications, "latency_ms": round(result.latency_ms, 3)},
            context={"latency_ms_per_trace": round(result.latency_ms / len(traces), 3)},
        )
        return Response(output.data)
