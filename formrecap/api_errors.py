"""API errors as JSON ``{"detail": ...}``: Django validation errors become 400s like DRF's own, and what Django
refuses while DRF reads a request (a form body over its limit, too many fields) a JSON 413 or 400, never its HTML page.
Errors Django answers outside any API view are made JSON by the handlers in formrecap/pages.py."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from .api_io import BodyTooLarge, body_too_large_detail
from .tenancy import TenantScopeError

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail={"detail": exc.messages})
    elif isinstance(exc, RequestDataTooBig):
        # Only form-encoded and multipart bodies get here: JSON is read by formrecap.api_io.JSONBodyParser.
        exc = BodyTooLarge(body_too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "form-encoded bodies"))
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(f"bad request: {exc}"[:300])
    if isinstance(exc, TenantScopeError):
        # A programming error, not the caller's: log it loudly and let it be a 500.
        logger.error("tenant scope violation: %s", exc)
    return drf_exception_handler(exc, context)
