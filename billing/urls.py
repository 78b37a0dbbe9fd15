from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("usage/me/", apis.UsageMeApi.as_view()),
    path("usage/records/", apis.UsageRecordListApi.as_view()),
    path("usage/summary/", apis.UsageSummaryApi.as_view()),
    path("usage/export.csv", apis.UsageExportCsvApi.as_view()),
    path("budgets/users/<id:user_id>/", apis.BudgetUserApi.as_view()),
    path("budgets/default/", apis.BudgetDefaultApi.as_view()),
    path("budgets/org/", apis.BudgetOrgApi.as_view()),
]
