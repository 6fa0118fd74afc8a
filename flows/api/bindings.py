"""The bindings API: which CRM record is bound to which Sage record, per pair; rebind one to
another Sage record (checked against Sage) or unbind it. Operators and admins change them,
every role reads them; each change is in the audit log with who and the note."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flows import bindings
from flows.models import ExternalLink


class RecordLinkSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.URLField()


class BindingSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    crm_link = serializers.SerializerMethodField(help_text="The CRM record's page, if known.")
    sage_link = serializers.SerializerMethodField(help_text="The Sage record's page, if known.")

    class Meta:
        model = ExternalLink
        fields = ["id", "pair", "entity", "crm_id", "sage_id", "last_synced_version",
                  "created_at", "updated_at", "crm_link", "sage_link"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(RecordLinkSerializer(allow_null=True))
    def get_crm_link(self, link: ExternalLink) -> dict[str, str] | None:
        return shown(bindings.crm_link(link))

    @extend_schema_field(RecordLinkSerializer(allow_null=True))
    def get_sage_link(self, link: ExternalLink) -> dict[str, str] | None:
        return shown(bindings.sage_link(link))


def shown(found: Any) -> dict[str, str] | None:
    return {"label": found.label, "url": found.url} if found else None


class RebindRequest(serializers.Serializer):
    sage_id = serializers.CharField(
        max_length=255, help_text="The Sage record to bind the CRM record to instead."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=bindings.NOTE_LENGTH,
        help_text="Why, for the audit log.",
    )  # fmt: skip


REFUSED = OpenApiResponse(description="The Sage id is missing, the same, or not in Sage.")
TAKEN = OpenApiResponse(description="Another binding of the pair holds that Sage record.")
SAGE_DOWN = OpenApiResponse(description="Sage did not answer: nothing was changed.")
FILTERS = [
    OpenApiParameter("pair", str, description="Only the pair with this slug."),
    OpenApiParameter("entity", str, description="customer, sales_order or invoice."),
    OpenApiParameter(
        "search", str, description="Part of the CRM id, the Sage id or the record's name."
    ),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class BindingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Bindings of CRM records to Sage records (customers, sales orders, invoices)."""

    permission = bindings.BINDINGS
    serializer_class = BindingSerializer

    def get_queryset(self) -> QuerySet[ExternalLink]:
        params = self.request.query_params
        return bindings.bindings(
            params.get("pair", ""), params.get("entity", ""), params.get("search", "")
        )

    @extend_schema(
        parameters=[OpenApiParameter("note", str, description="Why, for the audit log.")],
        responses={204: None},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Unbind: the next run of the record looks its Sage record up again (and may create
        one). `note` may also come in the body."""
        note = request.data.get("note") or request.query_params.get("note") or ""
        bindings.unbind(self.get_object(), request.user, str(note))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=RebindRequest,
        responses={200: BindingSerializer, 400: REFUSED, 409: TAKEN, 503: SAGE_DOWN},
    )
    @action(detail=True, methods=["post"])
    def rebind(self, request: Request, pk: Any = None) -> Response:
        """Bind the CRM record to another Sage record, which Sage is asked for first."""
        asked = RebindRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        link = self.get_object()
        try:
            bindings.rebind(
                link, asked.validated_data["sage_id"], request.user,
                asked.validated_data.get("note", ""),
            )  # fmt: skip
        except bindings.SageIdTaken as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except bindings.SageUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except bindings.BindingRefused as exc:
            return Response({"sage_id": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BindingSerializer(link).data)
