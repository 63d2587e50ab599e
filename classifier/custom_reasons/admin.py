"""Custom reasons in admin: define one, attach or detach example sessions by id, and see how well its examples
separate (leave-one-out accuracy and confusion with its siblings). Every change goes through services.py, which
resolves session ids within the reason's tenant."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from formrecap.admin_tenancy import TenantScopedAdmin

from ..models import CustomReason
from .prototypes import MIN_EXAMPLES
from .selectors import custom_reason_definition_check, custom_reason_example_sessions
from .services import (
    custom_reason_create,
    custom_reason_delete,
    custom_reason_example_remove,
    custom_reason_examples_add,
    custom_reason_limits_check,
    custom_reason_update,
)

_IDS = re.compile(r"[\s,;]+")


def _session_ids(text: str) -> list[int]:
    pieces = [piece for piece in _IDS.split(text or "") if piece]
    bad = [piece for piece in pieces if not (piece.isascii() and piece.isdecimal()) or not 0 < int(piece) < 2**63]
    if bad:
        raise ValidationError(f"not session ids: {', '.join(bad[:10])}")
    return [int(piece) for piece in pieces]


class CustomReasonForm(forms.ModelForm):
    add_examples = forms.CharField(
        required=False,
        help_text=f"Session ids to attach as examples, separated by commas or spaces. A reason is used from "
        f"{MIN_EXAMPLES} examples on; the review queue can attach the session it shows.",
    )
    remove_examples = forms.CharField(required=False, help_text="Session ids to detach.")

    class Meta:
        model = CustomReason
        fields = ["tenant", "name", "description", "parent_code"]

    def clean(self):
        cleaned = super().clean()
        tenant = self.instance.tenant if self.instance.pk else cleaned.get("tenant")
        if tenant is None or self.errors:
            return cleaned
        try:
            add = _session_ids(cleaned.get("add_examples", ""))
        except ValidationError as exc:
            self.add_error("add_examples", exc)
            return cleaned
        try:
            cleaned["remove_ids"] = _session_ids(cleaned.get("remove_examples", ""))
        except ValidationError as exc:
            self.add_error("remove_examples", exc)
            return cleaned
        checks = (
            lambda: custom_reason_definition_check(
                tenant=tenant, name=cleaned.get("name"), parent_code=cleaned.get("parent_code"), exclude_pk=self.instance.pk
            ),
            lambda: custom_reason_example_sessions(tenant=tenant, session_ids=add),  # another tenant's sessions read as unknown
            lambda: custom_reason_limits_check(
                tenant=tenant, reason=self.instance if self.instance.pk else None, adding=len(add)
            ),
        )
        for check in checks:  # every problem at once
            try:
                check()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error("add_examples" if field == "examples" else field, messages)
        cleaned["add_ids"] = add
        return cleaned


@admin.register(CustomReason)
class CustomReasonAdmin(TenantScopedAdmin):
    form = CustomReasonForm
    list_display = ["name", "parent", "examples_count", "separation", "tenant"]
    list_filter = ["parent_code"]
    search_fields = ["name", "description"]
    readonly_fields = ["figures", "example_links", "created_at"]

    def get_fields(self, request, obj=None):
        editable = ["name", "description", "parent_code", "add_examples", "remove_examples"]
        return ["tenant", *editable] if obj is None else [*editable, *self.readonly_fields]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(example_count=Count("examples"))

    @admin.display(description="parent", ordering="parent_code")
    def parent(self, reason: CustomReason) -> str:
        return reason.parent_label.replace("_", " ")

    @admin.display(description="examples", ordering="example_count")
    def examples_count(self, reason: CustomReason) -> str:
        count = reason.example_count
        return str(count) if count >= MIN_EXAMPLES else f"{count} (needs {MIN_EXAMPLES - count} more)"

    @admin.display(description="held-out accuracy")
    def separation(self, reason: CustomReason) -> str:
        fit = reason.fit or {}
        if not fit.get("ready"):
            return "not used yet"
        confused = ", ".join(f"{name} {n}" for name, n in sorted(fit.get("confusion", {}).items()))
        return f"{fit['loo_accuracy']:.0%}" + (f" (misread: {confused})" if confused else "")

    @admin.display(description="how well the examples separate")
    def figures(self, reason: CustomReason) -> str:
        fit = reason.fit or {}
        if not fit.get("ready"):
            return f"{fit.get('examples', 0)} example(s): not used until it has {MIN_EXAMPLES}."
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((name, n) for name, n in sorted(fit.get("confusion", {}).items()))
        )
        return format_html(
            "<p>Each of its {} examples held out in turn: <strong>{}</strong> read back as {}. A session is given this "
            "reason when it is nearer its prototype than any sibling's and within distance {}.</p>{}",
            fit["examples"], f"{fit['loo_accuracy']:.0%}", reason.name, f"{fit['threshold']:.3f}",
            format_html("<table><tr><th>misread as</th><th>examples</th></tr>{}</table>", rows) if rows else "",
        )  # fmt: skip

    @admin.display(description="examples")
    def example_links(self, reason: CustomReason) -> str:
        ids = list(reason.examples.order_by("id").values_list("session_id", flat=True))
        return (
            format_html_join(
                ", ", '<a href="{}">{}</a>', ((reverse("admin:formrecap_formsession_change", args=[pk]), pk) for pk in ids)
            )
            or "none yet"
        )

    def save_model(self, request, obj: CustomReason, form, change: bool) -> None:
        fields = {key: form.cleaned_data[key] for key in ("name", "description", "parent_code")}
        try:
            if change:
                saved = custom_reason_update(reason=CustomReason.all_tenants.get(pk=obj.pk), **fields)
            else:
                saved = custom_reason_create(tenant=form.cleaned_data["tenant"], **fields)
            for session_id in form.cleaned_data.get("remove_ids", []):
                try:
                    custom_reason_example_remove(reason=saved, session_id=session_id)
                except saved.examples.model.DoesNotExist:
                    continue
            if form.cleaned_data.get("add_ids"):
                custom_reason_examples_add(reason=saved, session_ids=form.cleaned_data["add_ids"])
        except ValidationError as exc:
            # Checked in clean() already; what changed since (another writer, an unreadable trace) is said, not a 500.
            self.message_user(request, f"Not all of it was saved: {' '.join(exc.messages)}", messages.ERROR)
            saved = CustomReason.all_tenants.filter(pk=obj.pk).first() or obj
        obj.pk = saved.pk

    def delete_model(self, request, obj: CustomReason) -> None:
        custom_reason_delete(reason=obj)  # admin has refused already when a rule matches on it (PROTECT)

    def delete_queryset(self, request, queryset) -> None:
        for reason in queryset:
            custom_reason_delete(reason=reason)
