"""API errors as JSON ``{"detail": ...}``: Django validation errors become 400s like DRF's own."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from .tenancy import TenantScopeError

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail={"detail": exc.messages})
    if isinstance(exc, TenantScopeError):
        # A programming error, not the caller's: log it loudly and let it be a 500.
        logger.error("tenant scope violation: %s", exc)
    return drf_exception_handler(exc, context)
