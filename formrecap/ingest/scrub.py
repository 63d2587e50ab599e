"""Values hidden in names: parts of field names and form paths that look like something a visitor typed.

A page (or a modified snippet) can put typed content where only structure belongs: a field named
``typedsecret_4111111111111111``, a path ``/thanks/jane@example.com``. Those parts become ``redacted`` so the
batch is still stored (refusing it would lose the session); ``#`` cannot be the placeholder, field names are
``[a-z0-9_]`` and a ``#`` in a path is a fragment. The snippet applies the same rules (formrecap/snippet/v1).

Value-like: an e-mail shape; a number of 9 or more digits, its digit groups joined by single separators
(``555-123-4567``, ``4111 1111 1111 1111``): phone, card and account numbers. Shorter numbers stay
(``address_line_1``, ``/step/2``, a 5-digit id), so field names keep telling fields apart.
A visitor reference holding a card number (13-19 digits passing the Luhn check) is dropped: the reference is
the site's own identifier (often the visitor's e-mail, which outreach needs), never a card.
"""

import re

PLACEHOLDER = "redacted"
MIN_DIGITS = 9
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Digit groups joined by one separator; in a normalised field name the only separator left is "_".
_NAME_NUMBER = re.compile(r"(?<![0-9])[0-9]+(?:_[0-9]+)*(?![0-9])")
_PATH_NUMBER = re.compile(r"(?<![0-9])[0-9]+(?:(?:[-._ ]|%20)[0-9]+)*(?![0-9])")
# Digits with single spaces or dashes between them; a card when 13-19 of them pass the Luhn check.
_SPACED_NUMBER = re.compile(r"[0-9](?:[ \-]?[0-9])*")


def scrub_emails(text: str) -> str:
    return _EMAIL.sub(PLACEHOLDER, text)


def scrub_normalised_name(name: str) -> str:
    """Long numbers out of a normalised field name (``card_4111_1111_1111_1111`` → ``card_redacted``)."""
    return _NAME_NUMBER.sub(_long_number_to_placeholder, name)


def scrub_path(path: str) -> str:
    """E-mail shapes and long numbers out of a form's URL path, segment separators (/) kept."""
    return _PATH_NUMBER.sub(_long_number_to_placeholder, scrub_emails(path))


def holds_card_number(text: str) -> bool:
    for match in _SPACED_NUMBER.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            return True
    return False


def _long_number_to_placeholder(match: re.Match) -> str:
    number = match.group()
    return PLACEHOLDER if sum(c.isdigit() for c in number) >= MIN_DIGITS else number


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
