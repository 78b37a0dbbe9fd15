from __future__ import annotations

from django.urls import path

from gateway import token_apis

# Personal API tokens are managed under /api/ with the rest of the SPA's API (CONTRACT "Tokens").
urlpatterns = [
    path("tokens/", token_apis.TokenListApi.as_view()),
    path("tokens/<id:token_id>/", token_apis.TokenDetailApi.as_view()),
]
