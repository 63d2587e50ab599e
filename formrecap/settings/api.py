"""Django REST framework and the OpenAPI schema."""

from .env import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["formrecap.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["formrecap.permissions.HasTenant"],
    "DEFAULT_SCHEMA_CLASS": "formrecap.api_schema.ApiAutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "formrecap.api_io.JSONBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["formrecap.api_io.AsciiJSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PAGINATION_CLASS": "formrecap.api_io.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        # Per (site key, client IP). A visitor flushes roughly every 5 s.
        "ingest": env("FORMRECAP_INGEST_RATE", default="600/min"),
    },
    "EXCEPTION_HANDLER": "formrecap.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Proxies in front of us that append to X-Forwarded-For; with 0 the header is ignored,
    # so a client cannot dodge the ingest throttle by inventing one.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FormRecap API",
    "DESCRIPTION": "Why visitors abandon forms: ingest, sessions, classification.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
