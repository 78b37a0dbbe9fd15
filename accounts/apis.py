"""REST endpoints for auth, setup, the organisation, members, invitations and the audit log.

Thin interfaces (STYLE rule 1): parse, resolve access, call one service, serialize.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.access import membership_get, membership_require_admin
from accounts.models import AuditEvent, Invitation, Membership, Role, SetupMarker, User
from accounts.permissions import IsOrgAdmin, IsOrgMember
from accounts.socket_access import user_sockets_close
from accounts.throttles import LoginAccountThrottle, LoginClientThrottle
from core.exceptions import ApplicationError
from core.serializers import StrictSerializer

TIME_ZONES = sorted(zoneinfo.available_timezones())


def user_payload(user: User) -> dict[str, Any]:
    """The contract's user object: {id, email, name, role, is_active}."""
    membership = getattr(user, "membership", None)
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "role": membership.role if membership is not None else None,
        "is_active": user.is_active,
    }


class UserOutput(serializers.Serializer[Membership]):
    id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = serializers.CharField()
    is_active = serializers.BooleanField(source="user.is_active")
    date_joined = serializers.DateTimeField(source="user.date_joined")
    spent_usd = serializers.DecimalField(max_digits=20, decimal_places=9)


class CsrfApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


class SetupApi(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(StrictSerializer):
        org_name = serializers.CharField(max_length=200)
        name = serializers.CharField(max_length=150)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        time_zone = serializers.ChoiceField(choices=TIME_ZONES, required=False, default="UTC")

    def get(self, request: Request) -> Response:
        needed = not (User.objects.exists() or SetupMarker.objects.exists())
        return Response({"needed": needed})

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.setup_complete(**data.validated_data)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(user_payload(user), status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    # Per client address and per account (accounts.throttles).
    throttle_classes = [LoginClientThrottle, LoginAccountThrottle]

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: Any = authenticate(
            request._request,
            username=data.validated_data["email"].strip().lower(),
            password=data.validated_data["password"],
        )
        if user is None:
            # One message for unknown email, wrong password and deactivated account alike.
            raise ApplicationError("Email or password is incorrect.", code="invalid_credentials")
        login(request._request, user)
        return Response(user_payload(user))


class LogoutApi(APIView):
    def post(self, request: Request) -> Response:
        session_key = request.session.session_key
        user_id = request.user.pk
        logout(request._request)
        # The chat sockets this session opened close too (other sessions' stay open).
        if user_id is not None:
            user_sockets_close(user_id=user_id, session_key=session_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsOrgMember]

    def get(self, request: Request) -> Response:
        membership = membership_get(user=request.user)
        org = membership.organization
        return Response(
            {
                **user_payload(membership.user),
                "org": {"id": org.pk, "name": org.name, "time_zone": org.time_zone},
            }
        )


class OrgApi(APIView):
    permission_classes = [IsOrgMember]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=200, required=False)
        time_zone = serializers.ChoiceField(choices=TIME_ZONES, required=False)
        title_model = serializers.CharField(
            max_length=200, required=False, allow_null=True, allow_blank=True
        )
        default_max_tokens = serializers.IntegerField(
            min_value=1, max_value=1_000_000, required=False
        )
        max_message_chars = serializers.IntegerField(
            min_value=1, max_value=10_000_000, required=False
        )

    @staticmethod
    def _output(membership: Membership) -> dict[str, Any]:
        org = membership.organization
        return {
            "id": org.pk,
            "name": org.name,
            "time_zone": org.time_zone,
            "title_model": org.title_model or None,
            "default_max_tokens": org.default_max_tokens,
            "max_message_chars": org.max_message_chars,
        }

    def get(self, request: Request) -> Response:
        return Response(self._output(membership_get(user=request.user)))

    def patch(self, request: Request) -> Response:
        membership = membership_require_admin(user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.org_update(
            org=membership.organization, actor=membership.user, data=dict(data.validated_data)
        )
        return Response(self._output(membership))


class MemberListApi(APIView):
    permission_classes = [IsOrgAdmin]

    def get(self, request: Request) -> Response:
        org = membership_get(user=request.user).organization
        return Response(UserOutput(selectors.member_list(org=org), many=True).data)  # type: ignore[arg-type]


class MemberDetailApi(APIView):
    permission_classes = [IsOrgAdmin]

    class InputSerializer(StrictSerializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        is_active = serializers.BooleanField(required=False)

    def patch(self, request: Request, user_id: int) -> Response:
        actor = membership_require_admin(user=request.user)
        target = selectors.member_get(org=actor.organization, user_id=user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.member_update(actor_membership=actor, membership=target, **data.validated_data)
        refreshed = selectors.member_list(org=actor.organization).get(pk=target.pk)
        return Response(UserOutput(refreshed).data)


class InvitationOutput(serializers.Serializer[Invitation]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


def _invitation_url(request: Request, token: str) -> str:
    base = settings.PUBLIC_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")
    return f"{base}/invite/{token}"


class InvitationListApi(APIView):
    permission_classes = [IsOrgAdmin]

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.MEMBER)

    def get(self, request: Request) -> Response:
        org = membership_get(user=request.user).organization
        return Response(InvitationOutput(selectors.invitation_list(org=org), many=True).data)  # type: ignore[arg-type]

    def post(self, request: Request) -> Response:
        actor = membership_require_admin(user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            actor_membership=actor, **data.validated_data
        )
        return Response(
            {
                **InvitationOutput(invitation).data,
                "token": token,
                "url": _invitation_url(request, token),
            },
            status=status.HTTP_201_CREATED,
        )


class InvitationDetailApi(APIView):
    permission_classes = [IsOrgAdmin]

    def delete(self, request: Request, invitation_id: int) -> Response:
        actor = membership_require_admin(user=request.user)
        invitation = selectors.invitation_get(org=actor.organization, invitation_id=invitation_id)
        services.invitation_revoke(actor_membership=actor, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationLookupApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "invitation"

    # The token travels in the body, never in the URL: URLs end up in access logs (issue 13).
    class InputSerializer(StrictSerializer):
        token = serializers.CharField(max_length=200)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_get_by_token(token=data.validated_data["token"])
        return Response(
            {
                "email": invitation.email,
                "role": invitation.role,
                "org_name": invitation.organization.name,
                "expires_at": invitation.expires_at,
            }
        )


class InvitationAcceptApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "invitation"

    class InputSerializer(StrictSerializer):
        token = serializers.CharField(max_length=200)
        name = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.invitation_accept(**data.validated_data)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(user_payload(user), status=status.HTTP_201_CREATED)


class AuditEventOutput(serializers.Serializer[AuditEvent]):
    id = serializers.IntegerField()
    actor = serializers.SerializerMethodField()
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_repr = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]
    created_at = serializers.DateTimeField()

    def get_actor(self, event: AuditEvent) -> dict[str, Any] | None:
        if event.actor is None:
            return None
        return {"id": event.actor.pk, "email": event.actor.email}


class AuditEventListApi(APIView):
    permission_classes = [IsOrgAdmin]

    class QuerySerializer(serializers.Serializer[Any]):
        limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)

    def get(self, request: Request) -> Response:
        org = membership_get(user=request.user).organization
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = selectors.audit_event_list(org=org, limit=query.validated_data["limit"])
        return Response(AuditEventOutput(events, many=True).data)  # type: ignore[arg-type]
