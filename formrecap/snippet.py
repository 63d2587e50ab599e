"""Serving the browser snippet and the demo page that embeds it."""

import hashlib
from functools import lru_cache
from pathlib import Path

import rjsmin
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.views.decorators.http import require_GET

from classifier.explain import human_duration
from classifier.labels import CLASSES

from .models import Site
from .selectors import site_resolve_public_key

SNIPPET_DIR = Path(__file__).resolve().parent / "snippet"
SNIPPET_VERSIONS = ("v1",)


@lru_cache(maxsize=len(SNIPPET_VERSIONS))
def _snippet_source(version: str) -> tuple[bytes, str]:
    # The source keeps its comments for readers; visitors download it minified (about 30% less gzipped).
    source = rjsmin.jsmin((SNIPPET_DIR / version / "formrecap.js").read_text(encoding="utf-8"), keep_bang_comments=True).encode()
    return source, '"' + hashlib.sha256(source).hexdigest()[:32] + '"'


@require_GET
def snippet_js(request: HttpRequest, version: str) -> HttpResponse:
    if version not in SNIPPET_VERSIONS:
        raise Http404("unknown snippet version")
    source, etag = _snippet_source(version) if not settings.DEBUG else _snippet_source.__wrapped__(version)
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    response = HttpResponse(source, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    # Short cache: a fix to v1 reaches every site within the hour; breaking changes get v2.
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """A sample form with the snippet installed, for the demo tenant's site (or ?site_key=)."""
    site_key = request.GET.get("site_key")
    site = site_resolve_public_key(site_key=site_key) if site_key else _demo_site()
    if site is None:
        raise Http404("no demo site: run `python manage.py seed_demo` first")
    delay = site.outreach_delay_seconds
    context = {
        "site_key": site.site_key,
        "classes": [(code, name.replace("_", " ")) for code, name in CLASSES.items()],
        # when the live panel's final reading comes: the session is abandoned for good
        "final_after": f"{human_duration(delay * 1000)} after you leave this page" if delay else "as soon as you leave this page",
        "inactive_after": human_duration(site.abandonment_timeout_seconds * 1000),
    }
    return render(request, "formrecap/demo.html", context)


def install_tag(*, origin: str, site_key: str) -> str:
    """The tag a site puts on its pages (plain text: escape it for HTML)."""
    return f'<script src="{origin.rstrip("/")}/snippet/v1/formrecap.js" data-site-key="{site_key}" async></script>'


def _demo_site() -> Site | None:
    from .demo import DEMO_SITE_NAME, DEMO_TENANT_SLUG

    return Site.all_tenants.filter(tenant__slug=DEMO_TENANT_SLUG, name=DEMO_SITE_NAME).first()
