from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from chat import provider_apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("provider-keys/", provider_apis.ProviderKeyListCreateApi.as_view(), name="provider-keys"),
    path(
        "provider-keys/<id:provider_key_id>/",
        provider_apis.ProviderKeyDetailApi.as_view(),
        name="provider-key",
    ),
    path(
        "provider-keys/<id:provider_key_id>/test/",
        provider_apis.ProviderKeyTestApi.as_view(),
        name="provider-key-test",
    ),
    path("models/", provider_apis.AIModelListCreateApi.as_view(), name="models"),
    # `path:` so percent-encoded ids with "/" (OpenRouter's "openai/gpt-4o") reach the view whole.
    path("models/<path:model_id>/", provider_apis.AIModelDetailApi.as_view(), name="model"),
]
