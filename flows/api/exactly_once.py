"""GET /api/v1/pairs/{slug}/exactly-once/?since=YYYY-MM-DD: the exactly-once report of a pair
(flows/exactly_once.py), Sage read live."""

from datetime import date
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clarity.permissions import HAS_ROLE
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from flows.exactly_once import ExactlyOnceReport, default_since, exactly_once

DocumentAnswer = inline_serializer(
    "ExactlyOnceDocument",
    {
        "kind": serializers.ChoiceField(["sales_order", "invoice"]),
        "number": serializers.CharField(),
        "deal_reference": serializers.CharField(),
        "customer_ref": serializers.CharField(),
        "total": serializers.DecimalField(14, 2),
        "currency": serializers.CharField(help_text="Empty: the company's one currency."),
        "made_on": serializers.DateField(),
        "status": serializers.CharField(),
    },
    many=True,
)
DealAnswer = inline_serializer(
    "ExactlyOnceDeal",
    {
        "crm_id": serializers.CharField(),
        "label": serializers.CharField(),
        "run": serializers.IntegerField(help_text="The deal's newest run."),
        "state": serializers.CharField(help_text="The newest run's status."),
        "documents": serializers.IntegerField(),
        "problem": serializers.CharField(help_text="Empty: in Sage once, or still running."),
        "sage_documents": DocumentAnswer,
    },
    many=True,
)
ReportAnswer = inline_serializer(
    "ExactlyOnceReport",
    {
        "pair": serializers.CharField(),
        "since": serializers.DateField(),
        "checked_at": serializers.DateTimeField(),
        "events_received": serializers.IntegerField(),
        "redeliveries": serializers.IntegerField(help_text="Duplicates answered, not stored."),
        "runs_started": serializers.IntegerField(),
        "won_deals": serializers.IntegerField(),
        "documents_in_sage": serializers.IntegerField(),
        "in_progress": serializers.IntegerField(help_text="Won deals whose run is under way."),
        "verdict": serializers.CharField(),
        "problems": DealAnswer,
    },
)


def as_json(report: ExactlyOnceReport) -> dict[str, Any]:
    return {
        "pair": report.pair.slug,
        "since": report.since,
        "checked_at": report.checked_at,
        "events_received": report.events_received,
        "redeliveries": report.redeliveries,
        "runs_started": report.runs_started,
        "won_deals": report.won_deals,
        "documents_in_sage": report.documents_in_sage,
        "in_progress": report.in_progress,
        "verdict": report.verdict,
        "problems": [
            {
                "crm_id": deal.crm_id,
                "label": deal.label,
                "run": deal.run_id,
                "state": deal.state,
                "documents": len(deal.documents),
                "problem": deal.problem,
                "sage_documents": [
                    {**vars(seen), "total": str(seen.total)} for seen in deal.documents
                ],
            }
            for deal in report.problems
        ],
    }


def since_of(text: str) -> date | Response:
    """The `since` day asked for (default: 30 days back), or the 400 naming it."""
    try:
        return date.fromisoformat(text) if text else default_since()
    except ValueError:
        return Response(
            {"since": [f"“{text}” is not a date: give since as YYYY-MM-DD."]},
            status=status.HTTP_400_BAD_REQUEST,
        )


class ExactlyOnceView(APIView):
    permission = HAS_ROLE

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATE,
                description="First day counted; 30 days back if left out.",
            )
        ],
        responses={200: ReportAnswer, 400: None, 404: None, 503: None},
    )
    def get(self, request: Request, slug: str) -> Response:
        """Events, redeliveries, runs and, per won deal, its documents counted in Sage;
        the deals with none or several are listed under `problems`."""
        pair = get_object_or_404(IntegrationPair.objects.select_related("erp"), slug=slug)
        since = since_of(request.query_params.get("since", ""))
        if isinstance(since, Response):
            return since
        try:
            report = exactly_once(pair, since)
        except ConnectorError as exc:
            return Response(
                {"detail": f"Sage could not be listed: {exc} Try again later."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(as_json(report))
