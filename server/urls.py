from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.admin import admin_login
from core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", include("core.metrics")),  # Prometheus; 404 unless METRICS_TOKEN is set
    path("admin/login/", admin_login, name="admin-login"),  # throttled, then Django's own
    # Provider keys and models moved from the chat app to providers: old admin links still work.
    re_path(
        r"^admin/chat/(?P<rest>(?:providerkey|aimodel)/.*)$",
        RedirectView.as_view(url="/admin/providers/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("providers.urls")),
    path("api/", include("chat.urls")),
    path("api/", include("billing.urls")),
    path("api/", include("gateway.urls")),
    path("v1/", include("gateway.openai_urls")),
    # Every other path is a client-side route of the SPA (built assets are served by whitenoise).
    re_path(r"^(?!api/|admin/|static/|ws/|v1/).*$", core_views.spa_index, name="spa"),
]

handler400 = "core.views.json_400"
handler404 = "core.views.json_404"
handler500 = "core.views.json_500"
