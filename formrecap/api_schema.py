"""The OpenAPI schema tells the truth about errors and bounds (schemathesis checks it against the app in tests/).

Every operation documents the errors every API view can give, as JSON ``{"detail": ...}``: 401 and 403 where a key
is needed, 404 for an id in the path or a page past the end, 400 for bad input, 413 and 415 for a body. Integer ids
in paths and queries are bounded like the database's ids; paginated lists (``api_io.PagePagination``) are
documented as pages, not bare arrays.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .api_io import MAX_ID

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def id_query_parameter(name: str, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, ID_SCHEMA, description=description)


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="what is wrong, in words")


ERRORS = {
    "400": "bad input: a JSON body or query parameter that does not validate; the body names each bad field",
    "401": "no API key, or an unknown or revoked one",
    "403": "the API key lacks the scope (read or write) this request needs",
    "404": "no such object for this tenant (or a page past the end)",
    "413": "the body is larger than FORMRECAP_API_MAX_BODY_BYTES",
    "415": "the body is not application/json (or form-encoded where the operation accepts it)",
}


class ApiAutoSchema(AutoSchema):
    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter["in"] == "path" and schema.get("type") == "integer":
                schema.setdefault("minimum", 0)
                schema.setdefault("maximum", MAX_ID)
        return parameters

    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        error_schema = self.resolve_serializer(ErrorOutput, "response").ref
        field_errors_schema = {"type": "object", "additionalProperties": {}}  # {"field": ["message"]}, or {"detail": ...}
        for code in self._error_codes():
            if code not in responses:
                schema = field_errors_schema if code == "400" else error_schema
                responses[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": schema}}}
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        codes = []
        if self.view.get_authenticators():
            codes += ["401", "403"]
        has_path_id = "{" in self.path
        if has_path_id or (self.method == "GET" and self._is_list_view() and self._get_paginator()):
            codes.append("404")
        has_query = any(p["in"] == "query" for p in super()._get_parameters())
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_query or has_body:
            codes.append("400")
        if has_body:
            codes += ["413", "415"]
        return codes
