"""What each recovery action reads from a rule's ``params``: documented once, shown in the rule form (with a
template per action) and in the README. recovery.services checks them; recovery.handlers read them."""

from .models import RecoveryRule

Action = RecoveryRule.Action

# (name, required, what it does) per action, and a template that works as it is (URLs to replace).
ACTION_PARAMS: dict[str, list[tuple[str, bool, str]]] = {
    Action.EMAIL: [
        ("resume_url", False, "the link in the email that brings the visitor back to the form (http/https)"),
    ],
    Action.WEBHOOK: [
        ("url", True, "the https URL the signed webhook is POSTed to (Standard Webhooks headers)"),
    ],
    Action.DISCOUNT: [
        ("amount", True, 'the discount as text, at most 32 characters, e.g. "10%" or "€5"'),
        ("valid_days", False, "days the single-use code stays valid, 1–365 (default 14)"),
        ("via", False, '"email" (default) sends the code to the visitor, "webhook" POSTs it to url'),
        ("url", False, 'with via "webhook": the https URL the code is POSTed to'),
    ],
    Action.UX_ALERT: [
        ("window_days", False, "days of failures one alert collects for a field, 1–90 (default 7)"),
        ("url", False, "an https URL the alert is also POSTed to (e.g. your team's chat webhook)"),
    ],
    Action.REVIEW: [],
    Action.SUPPRESS: [],
}
ANY_ACTION_PARAMS = [("allow_bots", False, "true: act on sessions classified as bots too (default false: never)")]

TEMPLATES: dict[str, dict] = {
    Action.EMAIL: {"resume_url": "https://shop.example.com/checkout?resume=1"},
    Action.WEBHOOK: {"url": "https://hooks.example.com/formrecap"},
    Action.DISCOUNT: {"amount": "10%", "valid_days": 14, "via": "email"},
    Action.UX_ALERT: {"window_days": 7},
    Action.REVIEW: {},
    Action.SUPPRESS: {},
}


def params_help_html() -> str:
    """The params documentation for the rule form: one line per action, its keys and what they do."""
    from django.utils.html import format_html, format_html_join

    rows = []
    for action, label in Action.choices:
        keys = format_html_join(
            "; ",
            "<code>{}</code>{} {}",
            ((name, " (required)" if required else "", meaning) for name, required, meaning in ACTION_PARAMS[action]),
        )
        rows.append(format_html("<li><strong>{}</strong>: {}</li>", label, keys or "no parameters"))
    extra = format_html_join("; ", "<code>{}</code>: {}", ((name, meaning) for name, _, meaning in ANY_ACTION_PARAMS))
    return format_html(
        "A JSON object. Choosing an action fills in its template when this box is empty.<ul>{}</ul>Any action: {}",
        format_html_join("", "{}", ((row,) for row in rows)),
        extra,
    )
