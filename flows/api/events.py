"""The published events API: subscriptions, and their deliveries with every attempt.

Subscriptions are configuration (admins: the role permissions on the model); deliveries and
their attempts are read-only history. A subscription's URL passes the outbound guard when
saved (`connectors.outbound`), and a new URL needs its secret sent again: a stored secret
signs only for the address it was given for.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from clarity.permissions import model_rule
from connectors import outbound
from connectors.models import IntegrationPair
from flows.models import Delivery, DeliveryAttempt, Subscription
from flows.publishing import EVENTS
from flows.registry import FLOWS


class SubscriptionSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(
        slug_field="slug", queryset=IntegrationPair.objects.all(), required=False, allow_null=True
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(EVENTS), required=False, allow_empty=True
    )
    secret = serializers.CharField(
        write_only=True, required=False, min_length=16,
        help_text="The HMAC-SHA256 key receivers verify X-Clarity-Signature with; never shown.",
    )  # fmt: skip
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = ["id", "name", "pair", "events", "target", "url", "flow", "enabled", "secret",
                  "has_secret", "created_at"]  # fmt: skip
        read_only_fields = ["created_at"]

    def get_has_secret(self, subscription: Subscription) -> bool:
        return bool(subscription.secrets.get("secret"))

    def validate_url(self, url: str) -> str:
        if url:
            outbound.validate_url(url)
        return url

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        merged = {
            "target": getattr(self.instance, "target", ""),
            "url": getattr(self.instance, "url", ""),
            "flow": getattr(self.instance, "flow", ""),
            **data,
        }
        moved = self.instance is not None and merged["url"] != self.instance.url
        if moved and self.get_has_secret(self.instance) and not data.get("secret"):
            raise serializers.ValidationError(
                {"secret": "The URL changed, and the stored secret is never used for a new "
                 "address: send the secret again with the new URL."}
            )  # fmt: skip
        has_secret = bool(data.get("secret")) or (
            self.instance is not None and self.get_has_secret(self.instance)
        )
        if merged["target"] == Subscription.Target.URL:
            if not merged["url"]:
                raise serializers.ValidationError({"url": "Give the URL to POST events to."})
            if not has_secret:
                raise serializers.ValidationError(
                    {"secret": "Give a secret (16+ characters) to sign the events with."}
                )
        elif merged["flow"] not in FLOWS:
            raise serializers.ValidationError(
                {"flow": f"Name one of the flows: {', '.join(sorted(FLOWS))}."}
            )
        return data

    def create(self, data: dict[str, Any]) -> Subscription:
        secret = data.pop("secret", "")
        return super().create({**data, "secrets": {"secret": secret} if secret else {}})

    def update(self, subscription: Subscription, data: dict[str, Any]) -> Subscription:
        secret = data.pop("secret", "")
        if secret:
            data["secrets"] = {"secret": secret}
        return super().update(subscription, data)


class SubscriptionViewSet(viewsets.ModelViewSet):
    permission = model_rule(Subscription)
    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.select_related("pair")


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "ok", "status_code", "duration_ms", "response_excerpt", "error",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    attempts_made = serializers.IntegerField(source="attempts", read_only=True)
    tries = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "subscription", "pair", "event", "key", "payload", "status",
                  "attempts_made", "next_attempt_at", "last_error", "created_at",
                  "delivered_at", "tries"]  # fmt: skip
        read_only_fields = fields


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Deliveries with every attempt; filter by `subscription`, `status`, `event`, `pair`."""

    permission = model_rule(Delivery)
    serializer_class = DeliverySerializer

    def get_queryset(self) -> QuerySet[Delivery]:
        deliveries = Delivery.objects.select_related("pair").prefetch_related("tries")
        filters = {"subscription": "subscription_id", "status": "status", "event": "event",
                   "pair": "pair__slug"}  # fmt: skip
        for param, lookup in filters.items():
            value = self.request.query_params.get(param)
            if value:
                deliveries = deliveries.filter(**{lookup: value})
        return deliveries
