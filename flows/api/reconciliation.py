"""GET /api/v1/pairs/{slug}/reconciliation/?since=YYYY-MM-DD: a pair's differences between won
deals and Sage (flows/reconciliation.py), one object per difference; POST
…/reconciliation/repair/ {crm_id, action, since?, note?, sage_id?}: one repair, audited."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from flows.api.exactly_once import since_of
from flows.reconciliation import ACTIONS, PROBLEMS, Difference, reconcile
from flows.reconciliation_repairs import RECONCILIATION, RepairRefused, repair

DifferenceAnswer = inline_serializer(
    "ReconciliationDifference",
    {
        "crm_id": serializers.CharField(help_text="Empty for a Sage document without a deal."),
        "label": serializers.CharField(),
        "sage_id": serializers.CharField(help_text="Empty when Sage has no document."),
        "problem": serializers.ChoiceField(list(PROBLEMS)),
        "expected": serializers.CharField(),
        "found": serializers.CharField(),
        "currency": serializers.CharField(),
        "run": serializers.IntegerField(allow_null=True),
        "actions": serializers.ListField(child=serializers.ChoiceField(list(ACTIONS))),
        "reviewed": serializers.CharField(),
    },
    many=True,
)
RepairAsked = inline_serializer(
    "ReconciliationRepair",
    {
        "crm_id": serializers.CharField(required=False),
        "sage_id": serializers.CharField(required=False),
        "action": serializers.ChoiceField(list(ACTIONS)),
        "since": serializers.DateField(required=False),
        "note": serializers.CharField(required=False, help_text="Needed to mark reviewed."),
    },
)


def as_json(difference: Difference) -> dict[str, Any]:
    return {
        "crm_id": difference.crm_id,
        "label": difference.label,
        "sage_id": difference.sage_id,
        "problem": difference.problem,
        "expected": difference.expected,
        "found": difference.found,
        "currency": difference.currency,
        "run": difference.run_id,
        "actions": list(difference.actions),
        "reviewed": difference.reviewed,
    }


class ReconciliationView(APIView):
    permission = RECONCILIATION

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATE, description="First day; 30 days back if left out."
            )
        ],
        responses={200: DifferenceAnswer, 400: None, 404: None, 503: None},
    )
    def get(self, request: Request, slug: str) -> Response:
        """The differences, Sage and the CRM read live."""
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
        since = since_of(request.query_params.get("since", ""))
        if isinstance(since, Response):
            return since
        try:
            result = reconcile(pair, since)
        except ConnectorError as exc:
            return Response(
                {"detail": f"Sage could not be listed: {exc} Try again later."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response([as_json(difference) for difference in result.differences])


class ReconciliationRepairView(APIView):
    permission = RECONCILIATION

    @extend_schema(request=RepairAsked, responses={200: None, 400: None, 403: None})
    def post(self, request: Request, slug: str) -> Response:
        """Repair one difference: replay, write_back, rebind or review (with a note)."""
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
        since = since_of(str(request.data.get("since") or ""))
        if isinstance(since, Response):
            return since
        try:
            done = repair(
                pair, since, str(request.data.get("crm_id") or ""),
                str(request.data.get("action") or ""), request.user,
                note=str(request.data.get("note") or ""),
                sage_id=str(request.data.get("sage_id") or ""),
            )  # fmt: skip
        except RepairRefused as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": done})
