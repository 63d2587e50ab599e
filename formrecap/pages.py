"""Pages outside the API and admin: the product's landing page at ``/``, and a JSON 404 for any unknown API path
(an API client never gets Django's HTML or debug page)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
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
