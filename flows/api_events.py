"""REST API for subscriptions and their deliveries, approvals, and live credit questions.

Subscriptions are configuration (admins: the role permissions on the model); deliveries and
their attempts are read-only history. Approvals are decided by approvers and admins only;
a decision already taken answers 409. The credit question answers from Sage within 5 s.
"""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import require
from connectors.models import IntegrationPair
from flows import approvals
from flows.credit import SageUnavailable, UnknownCustomer, credit_of
from flows.events import EVENTS
from flows.models import Approval, Delivery, DeliveryAttempt, Subscription
from flows.registry import FLOWS

DECIDE = require("flows.decide_approval", "Only approvers and admins can approve or reject.")


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

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        merged = {
            "target": getattr(self.instance, "target", ""),
            "url": getattr(self.instance, "url", ""),
            "flow": getattr(self.instance, "flow", ""),
            **data,
        }
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


class ApprovalSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(source="run.pair", slug_field="slug", read_only=True)
    summary = serializers.CharField(source="run.summary", read_only=True)
    entity_key = serializers.CharField(source="run.entity_key", read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)
    decided_by = serializers.StringRelatedField()

    class Meta:
        model = Approval
        fields = ["id", "run", "pair", "summary", "entity_key", "run_status", "amount",
                  "currency", "base_amount", "base_currency", "reason", "status", "decided_by",
                  "decided_at", "comment", "created_at"]  # fmt: skip
        read_only_fields = fields


DecisionRequest = inline_serializer("DecisionRequest", {"comment": serializers.CharField()})


class ApprovalViewSet(viewsets.ReadOnlyModelViewSet):
    """Approvals; `?status=pending` is the queue. Decisions go to the run, which continues."""

    serializer_class = ApprovalSerializer

    def get_queryset(self) -> QuerySet[Approval]:
        approvals = Approval.objects.select_related("run__pair", "decided_by")
        wanted = self.request.query_params.get("status")
        return approvals.filter(status=wanted) if wanted else approvals

    @extend_schema(request=DecisionRequest, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"], permission_classes=[DECIDE])
    def approve(self, request: Request, pk: Any = None) -> Response:
        """Approve: the run goes on to create the Sage record."""
        return self.decide(lambda a, comment: approvals.approve(a, request.user, comment))

    @extend_schema(request=DecisionRequest, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"], permission_classes=[DECIDE])
    def reject(self, request: Request, pk: Any = None) -> Response:
        """Reject with a reason: the run writes it to the CRM and ends `rejected`."""
        if not str(request.data.get("comment", "")).strip():
            return Response(
                {"comment": ["Say why the order is rejected: the reason goes to the CRM."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return self.decide(lambda a, comment: approvals.reject(a, request.user, comment))

    def decide(self, do: Any) -> Response:
        approval = self.get_object()
        try:
            decided = do(approval, str(self.request.data.get("comment", "")))
        except approvals.DecisionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ApprovalSerializer(decided).data)


CreditAnswer = inline_serializer(
    "CreditAnswer",
    {
        "pair": serializers.CharField(),
        "crm_id": serializers.CharField(),
        "customer": serializers.CharField(help_text="The Sage customer's reference."),
        "name": serializers.CharField(),
        "currency": serializers.CharField(),
        "credit_limit": serializers.DecimalField(14, 2),
        "balance": serializers.DecimalField(14, 2),
        "available": serializers.DecimalField(14, 2),
        "open_orders": serializers.DictField(help_text="Sage 100: count and amount."),
        "outstanding_invoices": serializers.DictField(help_text="Sage 50: count and amount."),
    },
)


@extend_schema(responses={200: CreditAnswer, 404: None, 503: None})
@api_view(["GET"])
@permission_classes([require("connectors.view_integrationpair", "You cannot see this pair.")])
def customer_credit(request: Request, slug: str, crm_id: str) -> Response:
    """The CRM customer's credit limit, balance and open orders, read live from Sage."""
    pair = get_object_or_404(IntegrationPair.objects.select_related("erp"), slug=slug)
    try:
        return Response(credit_of(pair, crm_id))
    except UnknownCustomer as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
    except SageUnavailable as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


def register(router: Any) -> None:
    router.register("subscriptions", SubscriptionViewSet, basename="api-subscription")
    router.register("deliveries", DeliveryViewSet, basename="api-delivery")
    router.register("approvals", ApprovalViewSet, basename="api-approval")


urlpatterns = [
    path("pairs/<slug:slug>/customers/<str:crm_id>/credit/", customer_credit,
         name="api-customer-credit"),
]  # fmt: skip
