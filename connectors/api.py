"""REST API for connections and pairs. Secrets are write-only: no response ever holds one."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clarity.permissions import model_rule, needs
from connectors.forms import connection_form_class
from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEM_CHOICES
from connectors.services import check_connection


class ConnectionSerializer(serializers.ModelSerializer):
    """Validates settings and secrets with the same per-system form the pages use."""

    settings = serializers.DictField(required=False, default=dict)
    secrets = serializers.DictField(
        child=serializers.CharField(), required=False, write_only=True, default=dict
    )
    secrets_set = serializers.SerializerMethodField(help_text="Names of the secrets stored.")
    system = serializers.ChoiceField(choices=SYSTEM_CHOICES)

    class Meta:
        model = Connection
        fields = [
            "id", "name", "system", "settings", "secrets", "secrets_set",
            "status", "last_checked_at", "last_error", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "last_checked_at", "last_error"]

    def get_secrets_set(self, connection: Connection) -> list[str]:
        return sorted(connection.secrets or {})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        if instance is not None and attrs.get("system", instance.system) != instance.system:
            raise serializers.ValidationError({"system": "A connection's system cannot change."})
        system = instance.system if instance else attrs["system"]
        form_class = connection_form_class(system)
        settings_in = attrs.get("settings", {})
        if instance is None:  # as on the page, a field left out takes its initial value
            initial = {
                key: field.initial
                for key, field in form_class.base_fields.items()
                if field.initial is not None and key not in form_class.secret_fields
            }
            settings_in = {**initial, **settings_in}
        elif self.partial:
            settings_in = {**instance.settings, **settings_in}
        secrets_in = attrs.get("secrets", {})
        unknown = {
            "settings": sorted(
                set(settings_in)
                - set(form_class.base_fields)
                - {"name"}
                - set(form_class.secret_fields)
            ),
            "secrets": sorted(set(secrets_in) - set(form_class.secret_fields)),
        }
        errors: dict[str, Any] = {
            part: {key: ["Unknown field for this system."] for key in keys}
            for part, keys in unknown.items() if keys
        }  # fmt: skip
        secret_in_settings = set(settings_in) & set(form_class.secret_fields)
        if secret_in_settings:
            errors.setdefault("settings", {}).update(
                {key: ["A secret: send it in `secrets`."] for key in secret_in_settings}
            )
        if errors:
            raise serializers.ValidationError(errors)
        name = attrs.get("name", instance.name if instance else "")
        form = form_class({"name": name, **settings_in, **secrets_in}, instance=instance)
        if not form.is_valid():
            raise serializers.ValidationError(self._nest_form_errors(form))
        attrs["form"] = form
        return attrs

    @staticmethod
    def _nest_form_errors(form: Any) -> dict[str, Any]:
        nested: dict[str, Any] = {}
        for key, messages in form.errors.items():
            if key == "name":
                nested["name"] = messages
            elif key == "__all__":
                nested["non_field_errors"] = messages
            else:
                part = "secrets" if key in form.secret_fields else "settings"
                nested.setdefault(part, {})[key] = messages
        return nested

    def create(self, validated_data: dict[str, Any]) -> Connection:
        return validated_data["form"].save()

    def update(self, instance: Connection, validated_data: dict[str, Any]) -> Connection:
        return validated_data["form"].save()


class HealthSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    status = serializers.CharField()


class ConnectionViewSet(viewsets.ModelViewSet):
    permission = model_rule(Connection)
    queryset = Connection.objects.all()
    serializer_class = ConnectionSerializer

    @extend_schema(request=None, responses=HealthSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission=needs(
            "connectors.test_connection", message="Testing needs the Operator or admin role."
        ),
    )
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Reach the system with the stored credentials; the outcome is stored too."""
        connection = self.get_object()
        health = check_connection(connection)
        return Response({"ok": health.ok, "message": health.message, "status": connection.status})


class IntegrationPairSerializer(serializers.ModelSerializer):
    webhook_url = serializers.SerializerMethodField(
        help_text="Only in the response that creates the pair or rotates its token."
    )

    class Meta:
        model = IntegrationPair
        fields = [
            "id", "name", "slug", "crm", "erp", "base_currency", "enabled",
            "webhook_url", "webhook_token_changed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["slug", "webhook_token_changed_at"]

    def get_webhook_url(self, pair: IntegrationPair) -> str | None:
        token = self.context.get("new_token")
        return pair.webhook_url(token) if token else None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        pair = IntegrationPair(**{**self._current_values(), **attrs})
        try:
            pair.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        attrs["base_currency"] = pair.base_currency
        return attrs

    def _current_values(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        names = ["pk", "name", "slug", "crm", "erp", "base_currency", "enabled"]
        return {name: getattr(self.instance, name) for name in names}


class IntegrationPairViewSet(viewsets.ModelViewSet):
    permission = model_rule(IntegrationPair)
    queryset = IntegrationPair.objects.all()
    serializer_class = IntegrationPairSerializer

    def perform_create(self, serializer: IntegrationPairSerializer) -> None:
        with transaction.atomic():
            pair = IntegrationPair(**serializer.validated_data)
            serializer.context["new_token"] = pair.rotate_webhook_token()
            pair.save()
            serializer.instance = pair

    @extend_schema(
        request=None,
        responses=inline_serializer("RotatedToken", {"webhook_url": serializers.CharField()}),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-token",
        permission=needs(
            "connectors.change_integrationpair", message="Rotating needs the admin role."
        ),
    )
    def rotate_token(self, request: Request, pk: str | None = None) -> Response:
        """Issue a new webhook URL; the old one stops working at once."""
        pair = self.get_object()
        token = pair.rotate_webhook_token()
        pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
        return Response({"webhook_url": pair.webhook_url(token)})


def register(router: DefaultRouter) -> None:
    """Add the connectors API to the project's router (under /api/v1/)."""
    router.register("connections", ConnectionViewSet, basename="api-connection")
    router.register("pairs", IntegrationPairViewSet, basename="api-pair")
