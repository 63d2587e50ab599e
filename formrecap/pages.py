"""Pages outside the API and admin: the product's landing page at ``/``, a JSON 404 for any unknown API path, and
Django's error handlers answering JSON under /api/ (an API client never gets Django's HTML or debug page)."""

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from classifier.labels import CLASSES

# What each reason means, in an operator's words (DESIGN.md's classes), for the landing page.
REASONS = {
    "validation_error": "a field kept refusing them (a password rule, a postcode format)",
    "distraction": "they went away mid-form: another tab, a long idle",
    "comparison_shopping": "they were weighing prices, plans or shipping, not filling",
    "accidental_exit": "they were typing fluently and vanished: a back button, a closed tab",
    "bot": "a script filled the form: excluded from metrics and outreach",
    "committed_leave": "they looked at what you ask for and decided no",
}


def landing_page(request: HttpRequest) -> HttpResponse:
    origin = request.build_absolute_uri("/").rstrip("/")
    reasons = [(name.replace("_", " "), REASONS[name]) for name in CLASSES.values()]
    return render(request, "formrecap/landing.html", {"origin": origin, "reasons": reasons})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: what Django refuses before any view (a Host it does not serve, a malformed request)."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        return JsonResponse({"detail": "bad request: the Host header names a host this server does not serve"}, status=400)
    return JsonResponse({"detail": "bad request"}, status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "forbidden"}, status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a path no route matches at all (e.g. an id with a newline, which the catch-all's "." skips)."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return api_not_found(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "internal server error"}, status=500)


@csrf_exempt  # any method: a POST to a wrong path is answered 404 like a GET, never a CSRF 403
def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    detail = f"no API endpoint at {request.path} (see /api/docs/ for the endpoints)"
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            detail = f"no API endpoint at {request.path}: the endpoint is {request.path}/ (with the trailing slash)"
    return JsonResponse({"detail": detail}, status=404)
