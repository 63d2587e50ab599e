"""Recovery API routes, mounted under ``/api/v1/recovery/`` by formrecap/urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("rules/", api.RuleListApi.as_view(), name="recovery-rule-list"),
    path("rules/<int:rule_id>/", api.RuleDetailApi.as_view(), name="recovery-rule-detail"),
    path("rules/<int:rule_id>/rotate-secret/", api.RuleRotateSecretApi.as_view(), name="recovery-rule-rotate-secret"),
    path("actions/", api.ActionListApi.as_view(), name="recovery-action-list"),
    path("actions/<int:action_id>/", api.ActionDetailApi.as_view(), name="recovery-action-detail"),
    path("stats/", api.StatsApi.as_view(), name="recovery-stats"),
    path("alerts/", api.AlertListApi.as_view(), name="recovery-alert-list"),
    path("discounts/redeem/", api.DiscountRedeemApi.as_view(), name="recovery-discount-redeem"),
]
