"""Django's WSGI handler with a middleware stack of its own: the production server runs the ingest endpoint on one.

The full stack (settings.MIDDLEWARE) serves pages, the admin and the API: sessions, authentication, messages, CSRF,
clickjacking and CSP headers, static files, chunked bodies. A snippet batch needs none of them: it carries no cookie,
nothing is rendered, the view is exempt from CSRF, and the server hands it over whole. That stack cost an eighth of
a server worker's CPU per batch (bench/ingest.py). Under INGEST_MIDDLEWARE a batch still passes the security headers
(nosniff, HSTS, referrer policy, the HTTPS redirect) and the database's 503, then the URLconf and the view as usual.
"""

from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

INGEST_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    # Innermost, as in settings.MIDDLEWARE: a database error becomes a 503 with Retry-After.
    "formrecap.unavailable.DatabaseUnavailableMiddleware",
)


class LeanWSGIHandler(WSGIHandler):
    def __init__(self, middleware: tuple[str, ...]) -> None:
        self.middleware_paths = middleware
        super().__init__()  # loads the middleware

    def load_middleware(self, is_async: bool = False) -> None:
        """Django's BaseHandler.load_middleware (which reads settings.MIDDLEWARE) for ``middleware_paths``: the same
        chain and hooks, synchronous only."""
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware_paths):
            factory = import_string(path)
            if not getattr(factory, "sync_capable", True):
                raise ImproperlyConfigured(f"{path} cannot run synchronously, as this handler runs every middleware")
            try:
                middleware = factory(handler)
            except MiddlewareNotUsed:
                continue
            if middleware is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler
