"""Custom reason API routes, mounted under ``/api/v1/custom-reasons/`` by formrecap/urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.CustomReasonListApi.as_view(), name="custom-reason-list"),
    path("<int:reason_id>/", api.CustomReasonDetailApi.as_view(), name="custom-reason-detail"),
    path("<int:reason_id>/examples/", api.CustomReasonExamplesApi.as_view(), name="custom-reason-examples"),
    path(
        "<int:reason_id>/examples/<int:session_id>/",
        api.CustomReasonExampleDetailApi.as_view(),
        name="custom-reason-example-detail",
    ),
]
