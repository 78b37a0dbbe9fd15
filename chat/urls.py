from __future__ import annotations

from django.urls import URLPattern, URLResolver

from chat import conversation_urls, provider_urls

urlpatterns: list[URLPattern | URLResolver] = [
    *provider_urls.urlpatterns,
    *conversation_urls.urlpatterns,
]
