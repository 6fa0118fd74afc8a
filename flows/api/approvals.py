"""The approvals API: the queue, and approve or reject (approvers and admins only; a
decision already taken answers 409)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import model_rule
from flows import approvals
from flows.models import Approval


class ApprovalSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(source="run.pair", slug_field="slug", read_only=True)
    summary = serializers.CharField(source="run.summary", read_only=True)
    entity_key = serializers.CharField(source="run.entity_key", read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)
    decided_by = serializers.StringRelatedField()

    class Meta:
        model = Approval
        fields = ["id", "run", "pair", "summary", "entity_key", "run_status", "kind",
                  "amount", "currency", "base_amount", "base_currency", "reason", "findings",
                  "status", "decided_by", "decided_at", "comment", "created_at"]  # fmt: skip
        read_only_fields = fields


DecisionRequest = inline_serializer("DecisionRequest", {"comment": serializers.CharField()})


class ApprovalViewSet(viewsets.ReadOnlyModelViewSet):
    """Approvals; `?status=pending` is the queue. Decisions go to the run, which continues."""

    permission = model_rule(Approval)
    serializer_class = ApprovalSerializer

    def get_queryset(self) -> QuerySet[Approval]:
        approvals = Approval.objects.select_related("run__pair", "decided_by")
        wanted = self.request.query_params.get("status")
        return approvals.filter(status=wanted) if wanted else approvals

    @extend_schema(request=DecisionRequest, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"], permission=approvals.DECIDE)
    def approve(self, request: Request, pk: Any = None) -> Response:
        """Approve: the run goes on to create the Sage record."""
        return self.decide(lambda a, comment: approvals.approve(a, request.user, comment))

    @extend_schema(request=DecisionRequest, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"], permission=approvals.DECIDE)
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
