"""Request parsing and response rendering shared by every API view (the DRF defaults point here).

Bodies are size-capped (a JSON 413 naming the cap) and too deeply nested JSON is a 400, not a RecursionError; a
chunked body without Content-Length is read, not taken for empty; responses escape non-ASCII so an error echoing a
lone surrogate from the body still encodes (never a 500).
"""

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework import serializers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer

MAX_ID = 2**63 - 1  # the largest database id (bigint)


def body_too_large_detail(limit: int, setting: str) -> str:
    return f"request body is larger than {limit} bytes ({setting})"


class BodyTooLarge(APIException):
    status_code = 413
    default_code = "body_too_large"


class JSONBodyParser(BaseParser):
    """JSON with a size cap (413), and absurdly nested bodies a 400 rather than a RecursionError (500).

    Not a JSONParser subclass on purpose: DRF hands those ``request.body``, which Django refuses past
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) with an HTML 400, long before the API's own cap.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer
    _json = JSONParser()

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.FORMRECAP_API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise BodyTooLarge(body_too_large_detail(limit, "FORMRECAP_API_MAX_BODY_BYTES"))
        try:
            return self._json.parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


class AsciiJSONRenderer(JSONRenderer):
    """Escapes non-ASCII: an error echoing a lone surrogate from the body must still encode (not a 500)."""

    ensure_ascii = True


class PagePagination(PageNumberPagination):
    """DRF's page numbers, documented with their bounds (a page past the end is a 404)."""

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        return parameters


class ChunkedBodyMiddleware:
    """Reads an API request's chunked body (no Content-Length), which Django would otherwise take for empty.

    gunicorn de-chunks the body and marks the input as ending there (``wsgi.input_terminated``): it is read here, up
    to the endpoint's cap, and handed on with its Content-Length. A server that passes the chunked framing through
    (wsgiref, so runserver) gives no way to find the body's end: that is a 411 asking for Content-Length.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and _chunked_without_length(request.META):
            refusal = self._read_chunked(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def _read_chunked(request: HttpRequest) -> JsonResponse | None:
        if not request.META.get("wsgi.input_terminated"):
            detail = "a chunked body needs a server that de-chunks it (gunicorn); send Content-Length instead"
            return JsonResponse({"detail": detail}, status=411)
        if request.path == reverse("ingest"):
            limit, setting = settings.FORMRECAP_INGEST_MAX_BODY_BYTES, "FORMRECAP_INGEST_MAX_BODY_BYTES"
        else:
            limit, setting = settings.FORMRECAP_API_MAX_BODY_BYTES, "FORMRECAP_API_MAX_BODY_BYTES"
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return JsonResponse({"detail": body_too_large_detail(limit, setting)}, status=413)
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None


def _chunked_without_length(meta: dict) -> bool:
    return "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH")


class QueryDateTimeField(serializers.DateTimeField):
    """A date-time query parameter: a blank value (``?until=``) is refused with a 400, where DRF reads a blank
    value of an optional field as absent (a filter silently dropped)."""

    def get_value(self, dictionary):
        if dictionary.get(self.field_name, None) == "":
            return ""
        return super().get_value(dictionary)


class StrictFloatField(serializers.FloatField):
    """A number that is not a boolean: ``false`` is refused, where Python reads it as 0.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)
