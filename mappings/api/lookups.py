"""The lookup tables API: tables (per pair or global) and their rows, by the model's own
permissions (admins change tables; operators fix rows too)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import model_rule
from connectors.models import IntegrationPair
from mappings.models import LookupEntry, LookupTable


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


class LookupTableViewSet(viewsets.ModelViewSet):
    permission = model_rule(LookupTable)
    serializer_class = LookupTableSerializer

    @extend_schema(
        parameters=[OpenApiParameter("pair", str, description="A pair's slug; tables it sees.")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

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
