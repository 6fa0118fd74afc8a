"""`GET/PUT /api/v1/pairs/{slug}/flows/{flow}/rules/`: a flow's business rules (the version
in use, with its number, author and comment) and saving new ones as a new version.

The same checks as the editor (flows/rules.py): a PUT with a problem saves nothing and
answers 400 with one sentence per problem. Reading needs the flow's view permission,
saving its change one (integration admins)."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flows.models import FlowConfig
from flows.rule_models import RuleSetVersion
from flows.rules import RulesInvalid
from flows.rules_versions import current_version, save_rules
from flows.views.rules import RULES_RULE


class RulesSaveSerializer(serializers.Serializer):
    rules = serializers.ListField(
        child=serializers.DictField(),
        max_length=50,
        help_text="Rules in order: name, match (all/any), conditions [{field, name, op, "
        "value}], action {kind, text, field, value, flow}.",
    )
    comment = serializers.CharField(max_length=200, required=False, allow_blank=True)


def version_data(config: FlowConfig, version: RuleSetVersion | None) -> dict[str, Any]:
    return {
        "pair": config.pair.slug,
        "flow": config.flow,
        "version": version.number if version else None,
        "author": str(version.author or "") if version else "",
        "comment": version.comment if version else "",
        "saved_at": version.created_at.isoformat() if version else None,
        "rules": version.rules if version else [],
    }


RULES_RESPONSE = inline_serializer(
    "FlowRules",
    {
        "pair": serializers.CharField(),
        "flow": serializers.CharField(),
        "version": serializers.IntegerField(allow_null=True),
        "author": serializers.CharField(),
        "comment": serializers.CharField(),
        "saved_at": serializers.DateTimeField(allow_null=True),
        "rules": serializers.ListField(child=serializers.DictField()),
    },
)


class FlowRulesView(APIView):
    permission = RULES_RULE

    def config(self, slug: str, flow: str) -> FlowConfig:
        return get_object_or_404(
            FlowConfig.objects.select_related("pair"), pair__slug=slug, flow=flow
        )

    @extend_schema(responses=RULES_RESPONSE)
    def get(self, request: Request, slug: str, flow: str) -> Response:
        """The flow's rules in use (an empty list and no version before the first save)."""
        config = self.config(slug, flow)
        return Response(version_data(config, current_version(config)))

    @extend_schema(request=RulesSaveSerializer, responses=RULES_RESPONSE)
    def put(self, request: Request, slug: str, flow: str) -> Response:
        """Save the rules as a new version; 400 with `problems` when any rule is wrong."""
        config = self.config(slug, flow)
        serializer = RulesSaveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            version = save_rules(config, data["rules"], request.user, data.get("comment", ""))
        except RulesInvalid as exc:
            return Response(
                {"detail": "Nothing was saved.", "problems": exc.problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(version_data(config, version))
