from __future__ import annotations

from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/csrf/", apis.CsrfApi.as_view()),
    path("auth/login/", apis.LoginApi.as_view()),
    path("auth/logout/", apis.LogoutApi.as_view()),
    path("auth/me/", apis.MeApi.as_view()),
    path("setup/", apis.SetupApi.as_view()),
    path("org/", apis.OrgApi.as_view()),
    path("members/", apis.MemberListApi.as_view()),
    path("members/<id:user_id>/", apis.MemberDetailApi.as_view()),
    path("invitations/", apis.InvitationListApi.as_view()),
    path("invitations/lookup/", apis.InvitationLookupApi.as_view()),
    path("invitations/accept/", apis.InvitationAcceptApi.as_view()),
    path("invitations/<id:invitation_id>/", apis.InvitationDetailApi.as_view()),
    path("audit/", apis.AuditEventListApi.as_view()),
]
