"""The live credit question: a CRM customer's standing in Sage, answered within 5 s."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clarity.permissions import needs
from connectors.models import IntegrationPair
from flows.credit import SageUnavailable, UnknownCustomer, credit_of

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
        "outstanding_invoices": serializers.DictField(
            help_text="Sage Accounting: count and amount."
        ),
    },
)


class CustomerCreditView(APIView):
    permission = needs("connectors.view_integrationpair", message="You cannot see this pair.")

    @extend_schema(responses={200: CreditAnswer, 404: None, 503: None})
    def get(self, request: Request, slug: str, crm_id: str) -> Response:
        """The CRM customer's credit limit, balance and open orders, read live from Sage."""
        pair = get_object_or_404(IntegrationPair.objects.select_related("erp"), slug=slug)
        try:
            return Response(credit_of(pair, crm_id))
        except UnknownCustomer as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        except SageUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
