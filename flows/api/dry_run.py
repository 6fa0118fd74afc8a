"""`POST /api/v1/mappings/{id}/dry-run/`: a version (or a draft) tried on the pair's last
won deals, each classified against Sage now; nothing is written (flows/dry_run.py).

Here rather than in the mappings API: a dry-run runs the won-deal flow's checks, and flows sit
above mappings. It needs the mapping's change permission: each try reads Sage many times with
the connection's credentials."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.errors import ConnectorError
from flows.dry_run import DEFAULT_DEALS, DRY_RUN, MAX_DEALS, DryRunRefused, dry_run
from mappings.api.mappings import PreviewParser, SpecField
from mappings.models import Mapping


class DryRunRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="A version's number; default: the active one."
    )
    spec = SpecField(required=False, help_text="Unsaved rules to try instead of a version.")
    n = serializers.IntegerField(
        min_value=1, max_value=MAX_DEALS, default=DEFAULT_DEALS, help_text="Deals to try."
    )


class MappingDryRunView(APIView):
    permission = DRY_RUN
    parser_classes = [PreviewParser]

    @extend_schema(
        request=DryRunRequestSerializer,
        responses=inline_serializer(
            "DryRun",
            {
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "results": serializers.ListField(
                    child=serializers.DictField(),
                    help_text="Per deal: crm_id, label, class, reason, fields, changes.",
                ),
            },
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Try a version (or a draft) on the pair's last `n` won deals, each classified
        against Sage now (would create, update, duplicate or fail); nothing is written."""
        mapping = get_object_or_404(Mapping, pk=pk)
        serializer = DryRunRequestSerializer(data=request.data, context={"mapping": mapping})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "spec" in data:
            spec, tried = data["spec"], "the draft"
        else:
            number = data.get("version") or getattr(mapping.active_version, "number", None)
            version = mapping.versions.filter(number=number).first() if number else None
            if version is None:
                raise serializers.ValidationError(
                    {"version": ["There is no such version of this mapping."]}
                )
            spec, tried = version.spec, f"version {version.number}"
        try:
            result = dry_run(mapping, spec, data["n"], tried)
        except DryRunRefused as exc:
            return Response({"detail": str(exc)}, status=400)
        except ConnectorError as exc:
            return Response({"detail": f"Sage could not be read: {exc}"}, status=502)
        return Response(result.to_dict())
