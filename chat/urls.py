from __future__ import annotations

from django.urls import URLPattern, URLResolver

from chat import conversation_urls

urlpatterns: list[URLPattern | URLResolver] = [
    *conversation_urls.urlpatterns,
]
