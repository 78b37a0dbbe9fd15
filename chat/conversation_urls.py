from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from chat import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("conversations/", apis.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<id:conversation_id>/",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    path(
        "conversations/<id:conversation_id>/messages/",
        apis.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<id:conversation_id>/export/",
        apis.ConversationExportApi.as_view(),
        name="conversation-export",
    ),
]
