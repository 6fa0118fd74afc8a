"""The lookup tables API: tables (per pair or global) and their rows, by the model's own
permissions (admins change tables; operators fix rows too)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import model_rule, needs
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from mappings.models import LookupEntry, LookupTable
from mappings.salespeople import fill_salespeople


class LookupEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LookupEntry
        fields = ["id", "table", "key", "value"]


class LookupTableSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=IntegrationPair.objects.all(),
        allow_null=True,
        required=False,
        help_text="The pair's slug; null = a global table every pair can use.",
    )
    entry_count = serializers.IntegerField(source="entries.count", read_only=True)

    class Meta:
        model = LookupTable
        fields = ["id", "pair", "name", "description", "on_miss", "default_value",
                  "entry_count", "updated_at"]  # fmt: skip
        validators: list = []  # `validate` says it in words, global tables included

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """One name per pair, and one among global tables (the database would say 500)."""
        pair = attrs.get("pair", self.instance.pair if self.instance else None)
        name = attrs.get("name", self.instance.name if self.instance else "")
        clash = LookupTable.objects.filter(pair=pair, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            where = f"pair {pair.slug}" if pair else "the global tables"
            raise ValidationError({"name": [f"{where.capitalize()} already has a table “{name}”."]})
        return attrs


class FillSalespeopleSerializer(serializers.Serializer):
    pair = serializers.SlugRelatedField(
        slug_field="slug", queryset=IntegrationPair.objects.all(), help_text="The pair's slug."
    )


class PersonSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()


class MatchSerializer(serializers.Serializer):
    user = PersonSerializer()
    salesperson = PersonSerializer()
    how = serializers.CharField()


class FilledSerializer(serializers.Serializer):
    table = serializers.IntegerField(source="table.pk")
    summary = serializers.CharField()
    matched = MatchSerializer(many=True)
    unmatched = PersonSerializer(many=True)


class LookupTableViewSet(viewsets.ModelViewSet):
    permission = model_rule(LookupTable)
    serializer_class = LookupTableSerializer

    @extend_schema(
        parameters=[OpenApiParameter("pair", str, description="A pair's slug; tables it sees.")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=FillSalespeopleSerializer, responses=FilledSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="fill-salespeople",
        permission=needs(
            "mappings.add_lookuptable",
            "mappings.change_lookupentry",
            message="Filling salespeople needs the admin role.",
        ),
    )
    def fill_salespeople(self, request: Request) -> Response:
        """Make or update the pair's "salespeople" table: CRM user key → ERP salesperson,
        matched by email, then name; `unmatched` lists the users that need a row by hand."""
        asked = FillSalespeopleSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            result = fill_salespeople(asked.validated_data["pair"])
        except ConnectorError as error:
            raise ValidationError(
                {"pair": [f"{error}. Check the pair's connections, then try again."]}
            ) from error
        return Response(FilledSerializer(result).data)

    def get_queryset(self) -> QuerySet[LookupTable]:
        tables = LookupTable.objects.select_related("pair")
        if pair := self.request.query_params.get("pair"):
            tables = tables.filter(pair__slug=pair)
        return tables


class LookupEntryViewSet(viewsets.ModelViewSet):
    permission = model_rule(LookupEntry)
    serializer_class = LookupEntrySerializer

    @extend_schema(parameters=[OpenApiParameter("table", OpenApiTypes.INT)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[LookupEntry]:
        entries = LookupEntry.objects.all()
        if table := self.request.query_params.get("table"):
            if not table.isdigit():
                raise ValidationError({"table": ["Use the table's id."]})
            entries = entries.filter(table_id=int(table))
        return entries
