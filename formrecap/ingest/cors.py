"""CORS for the ingest endpoint: only the origins a site allows, never a wildcard."""

from django.http import HttpResponse

PREFLIGHT_MAX_AGE = 86400


def allow_origin(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def vary_on_origin(response: HttpResponse) -> HttpResponse:
    existing = response.get("Vary")
    response["Vary"] = f"{existing}, Origin" if existing else "Origin"
    return response
