"""The REST API's token check against hashed tokens (`clarity.models.ApiToken`)."""

from typing import Any

from auditlog.context import auditlog_value
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from clarity.models import ApiToken, hash_api_token


class HashedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`, as DRF's, but found by the token's SHA-256: only the
    hash is stored. A call without the header still gets 401 with `WWW-Authenticate: Token`."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_api_token(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token: create a new one on your Settings page.")
        if not token.user.is_active:
            raise AuthenticationFailed("The token's user is deactivated.")
        credit_audit_entries_to(token.user)
        return token.user, token


def credit_audit_entries_to(user: Any) -> None:
    """auditlog's middleware named the request's actor before DRF read the token (nobody,
    then): changes made with a token are the token owner's, not "system"."""
    context = auditlog_value.get(None)
    if context is not None and context.get("actor") is None:
        context["actor"] = user
