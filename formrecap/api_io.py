"""Request parsing and response rendering shared by every API view (the DRF defaults point here).

Bodies are size-capped and too deeply nested JSON is a 400, not a RecursionError; responses
escape non-ASCII so an error echoing a lone surrogate from the body still encodes (never a 500).
"""

import io

from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

# 1,000 terse traces of the largest size (8 KB) with room for JSON escapes, or raw events of similar extent.
MAX_BODY_BYTES = 32 * 2**20


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = f"request body is larger than {MAX_BODY_BYTES // 2**20} MiB"
    default_code = "body_too_large"


class JSONBodyParser(JSONParser):
    """DRF's JSON parser with a size cap (413), and absurdly nested bodies a 400 rather than a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


class AsciiJSONRenderer(JSONRenderer):
    """Escapes non-ASCII: an error echoing a lone surrogate from the body must still encode (not a 500)."""

    ensure_ascii = True
