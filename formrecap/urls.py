from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from analytics.views import admin_urls as analytics_admin_urls
from classifier import api as classifier_api

from . import admin_login, api, demo_live, pages, snippet
from .ingest.api import IngestApi

admin.site.site_header = "FormRecap"
admin.site.site_title = "FormRecap admin"
admin.site.index_title = "Operations"

# Django's own error pages answer JSON under /api/ (formrecap/pages.py).
handler400 = pages.bad_request
handler403 = pages.permission_denied
handler404 = pages.page_not_found
handler500 = pages.server_error

api_v1 = [
    path("api/v1/ingest/", IngestApi.as_view(), name="ingest"),
    path("api/v1/sites/", api.SiteListApi.as_view(), name="site-list"),
    path("api/v1/sites/<int:site_id>/", api.SiteDetailApi.as_view(), name="site-detail"),
    path("api/v1/sessions/", api.SessionListApi.as_view(), name="session-list"),
    path("api/v1/sessions/<int:session_id>/", api.SessionDetailApi.as_view(), name="session-detail"),
    path("api/v1/classify/", classifier_api.ClassifyApi.as_view(), name="classify"),
    path("api/v1/classify/batch/", classifier_api.ClassifyBatchApi.as_view(), name="classify-batch"),
    path("api/v1/recovery/", include("recovery.urls")),
    path("api/v1/custom-reasons/", include("classifier.custom_reasons.urls")),
]

urlpatterns = [
    *api_v1,
    path("", pages.landing_page, name="landing"),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "api/docs/",
        # Split: Swagger UI's start-up script is served as a file (?script), not inline, so the CSP allows it.
        SpectacularSwaggerSplitView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path("snippet/<str:version>/formrecap.js", snippet.snippet_js, name="snippet"),
    path("demo/", snippet.demo_page, name="demo"),
    path("demo/reading/", demo_live.demo_reading, name="demo-reading"),
    *analytics_admin_urls(),  # dashboards live under /admin/, before admin's own catch-all
    # admin's own login view, behind the brute-force lockout (reverse("admin:login") is this path)
    path("admin/login/", admin_login.admin_login, name="admin-login-locked"),
    path("admin/", admin.site.urls),
    # after every API route: an unknown API path (or an id that is not a number) is a JSON 404, never HTML
    re_path(r"^api/(?P<rest>.*)$", pages.api_not_found, name="api-not-found"),
]
