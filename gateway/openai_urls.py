"""`/v1/` inside Django's URLs: a clear error, never the SPA.

`server/asgi.py` answers `/v1/` with the gateway's ASGI app before Django sees the request
(Daphne and `manage.py runserver` both serve `server.asgi`). This route only keeps Django's
catch-all SPA route away from `/v1/` for a server that bypassed that dispatch: it answers 404 in
OpenAI's error envelope instead of replaying the request into ASGI.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def not_served_here(request: HttpRequest, rest: str = "") -> JsonResponse:
    error = {
        "message": "The /v1 API is served by Potluck's ASGI application (server.asgi).",
        "type": "not_found",
        "code": "not_found",
        "param": None,
    }
    return JsonResponse({"error": error}, status=404)


urlpatterns = [re_path(r"^(?P<rest>.*)$", not_served_here)]
