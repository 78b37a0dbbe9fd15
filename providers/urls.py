from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from providers import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("provider-keys/", apis.ProviderKeyListCreateApi.as_view(), name="provider-keys"),
    path(
        "provider-keys/<id:provider_key_id>/",
        apis.ProviderKeyDetailApi.as_view(),
        name="provider-key",
    ),
    path(
        "provider-keys/<id:provider_key_id>/test/",
        apis.ProviderKeyTestApi.as_view(),
        name="provider-key-test",
    ),
    path("models/", apis.AIModelListCreateApi.as_view(), name="models"),
    # `path:` so percent-encoded ids with "/" (OpenRouter's "openai/gpt-4o") reach the view whole.
    path("models/<path:model_id>/", apis.AIModelDetailApi.as_view(), name="model"),
]
