"""The mappings API: mappings, their versions (save, restore, diff), previews, suggestions.

Reading needs the view permissions (every role); saving and restoring versions need the
Integration admin's. A preview or a suggestion changes nothing, so viewing a mapping is
enough for them. A posted spec is checked by compiling it, and its problems come back keyed
by the rule's target field. A preview's body, its spec and its run are bounded as in the
designer (`mappings.views.designer`): too large a body is a 413, a run past its budget a 400.
"""

import json
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import model_rule, needs, reads_writes
from connectors.base import FieldInfo
from mappings import engine
from mappings.limits import MAX_RULES, parse_json
from mappings.models import Mapping, MappingVersion
from mappings.suggest import suggest
from mappings.versions import diff_versions, restore_version, save_version
from mappings.views.designer import kilobytes, posted_limit, preview_budget
from mappings.views.sources import PreviewEnvironment, json_safe, source_fields, target_fields

VIEW_MAPPING = "mappings.view_mapping"
VIEW_VERSION = "mappings.view_mappingversion"
ADD_VERSION = "mappings.add_mappingversion"
CHANGE_MAPPING = "mappings.change_mapping"


# ---------------------------------------------------------------- spec checks


def spec_problems(spec: Any, target_entity: str = "") -> dict[str, list[str]]:
    """What stops the engine compiling `spec`, by the rule's target (or its position)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("rules", []), list):
        return {"spec": ['Send an object with a "rules" list.']}
    if len(spec.get("rules") or []) > MAX_RULES:
        return {"spec": [f"A spec holds at most {MAX_RULES} rules."]}
    problems: dict[str, list[str]] = {}
    for index, rule in enumerate(spec.get("rules") or []):
        if not isinstance(rule, dict):
            problems[f"rules[{index}]"] = ["A rule is an object with a target."]
            continue
        where = str(rule.get("target") or f"rules[{index}]")
        try:
            engine.compile_spec({"target_entity": target_entity, "rules": [rule]})
        except engine.MappingSpecError as exc:
            prefix = f"{where}: "
            problems[where] = [problem.removeprefix(prefix) for problem in exc.problems]
    return problems


def compiled(mapping: Mapping, spec: dict[str, Any]) -> engine.CompiledMapping:
    """The spec compiled against the target's fields (none when the system is out of reach)."""
    fields, _ = target_fields(mapping)
    return engine.compile_spec(
        {"target_entity": mapping.target_entity, **spec}, fields or None, mapping.system
    )


class SpecField(serializers.JSONField):
    """A rule set as `mappings.engine` reads it: {"rules": [{"target": …, "source": …}]}."""

    def to_internal_value(self, data: Any) -> Any:
        data = super().to_internal_value(data)
        mapping = self.context.get("mapping")
        problems = spec_problems(data, mapping.target_entity if mapping else "")
        if problems:
            raise ValidationError(problems)
        return data


class RequestTooLarge(APIException):
    status_code = 413
    default_code = "too_large"


class PreviewParser(BaseParser):
    """JSON of bounded size and depth: a preview's body is a record and a draft, no more.
    Reads at most the limit (and one byte) from the request's stream, so a 5 MB body is
    refused without being read (DRF's JSONParser would read the whole body first)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context=None) -> Any:
        limit = posted_limit()
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(
                f"The request is larger than {kilobytes(limit)}: send one sample record and "
                f"one draft, each at most {kilobytes(settings.CLARITY_PREVIEW_MAX_BYTES)}."
            )
        try:
            return parse_json(body)
        except ValueError as exc:
            raise ParseError(str(exc)) from None


# ---------------------------------------------------------------- serializers


class MappingSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    active_version = serializers.IntegerField(
        source="active_version.number", read_only=True, allow_null=True
    )
    spec = serializers.JSONField(
        source="active_version.spec", read_only=True, help_text="The active version's rules."
    )

    class Meta:
        model = Mapping
        fields = ["id", "pair", "name", "direction", "system", "source_entity", "target_entity",
                  "active_version", "spec", "created_at", "updated_at"]  # fmt: skip


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    spec = SpecField()
    note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    warnings = serializers.SerializerMethodField(
        help_text="Targets the target system does not know (a rename, a typo)."
    )

    class Meta:
        model = MappingVersion
        fields = ["number", "spec", "note", "author", "created_at", "warnings"]
        read_only_fields = ["number", "author", "created_at"]

    def get_warnings(self, version: MappingVersion) -> list[dict[str, str]]:
        if not self.context.get("with_warnings"):
            return []
        spec_issues = compiled(version.mapping, version.spec).spec_issues
        return [issue.to_dict() for issue in spec_issues]


class IssueSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["error", "warning"])
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class PreviewRequestSerializer(serializers.Serializer):
    record = serializers.DictField(help_text="A source record, as the flows hand it over.")
    spec = SpecField(required=False, help_text="Unsaved rules to try; default: the active ones.")


class PreviewSerializer(serializers.Serializer):
    output = serializers.DictField()
    issues = IssueSerializer(many=True)
    ok = serializers.BooleanField(help_text="No errors: the record would be written.")
    needs_review = serializers.BooleanField(help_text="A currency could not be converted.")


class SuggestRequestSerializer(serializers.Serializer):
    sample = serializers.DictField(
        required=False, allow_null=True, help_text="A source record: its values sharpen guesses."
    )
    spec = SpecField(required=False, help_text="Unsaved rules; default: the active ones.")


class SuggestionSerializer(serializers.Serializer):
    target = serializers.CharField()
    rule = serializers.DictField(help_text="Ready to add to the spec's rules.")
    confidence = serializers.FloatField(min_value=0, max_value=1)
    reason = serializers.CharField()


class RestoreSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class DiffQuerySerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=1, help_text="The older version's number.")
    b = serializers.IntegerField(min_value=1, help_text="The newer version's number.")


DiffSerializer = inline_serializer(
    "MappingDiff",
    {
        "mapping": serializers.IntegerField(),
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "changes": serializers.ListField(
            child=serializers.DictField(),
            help_text="Per target: change (added, removed, changed), before, after, parts.",
        ),
    },
)


# ---------------------------------------------------------------- mappings


@extend_schema(
    parameters=[
        OpenApiParameter("pair", str, description="The pair's slug."),
        OpenApiParameter("direction", str, enum=Mapping.Direction.values),
    ]
)
class MappingViewSet(viewsets.ReadOnlyModelViewSet):
    """Mappings are created with their pair; they change by new versions."""

    permission = model_rule(Mapping)
    serializer_class = MappingSerializer

    def get_queryset(self) -> QuerySet[Mapping]:
        mappings = Mapping.objects.select_related("pair", "active_version")
        if pair := self.request.query_params.get("pair"):
            mappings = mappings.filter(pair__slug=pair)
        if direction := self.request.query_params.get("direction"):
            if direction not in Mapping.Direction.values:
                raise ValidationError({"direction": ["Use in or out."]})
            mappings = mappings.filter(direction=direction)
        return mappings

    def version_context(self, mapping: Mapping) -> dict[str, Any]:
        return {**self.get_serializer_context(), "mapping": mapping}

    @extend_schema(methods=["GET"], responses=VersionSerializer(many=True))
    @extend_schema(methods=["POST"], request=VersionSerializer, responses={201: VersionSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        permission=reads_writes(
            VIEW_VERSION, ADD_VERSION, message="Saving a version needs the admin role."
        ),
    )
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """GET: every version, newest first. POST {spec, note}: save the next version."""
        mapping = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(mapping.versions.select_related("author"))
            data = VersionSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        serializer = VersionSerializer(data=request.data, context=self.version_context(mapping))
        serializer.is_valid(raise_exception=True)
        version = save_version(
            mapping, serializer.validated_data["spec"], request.user,
            serializer.validated_data["note"],
        )  # fmt: skip
        context = {**self.version_context(mapping), "with_warnings": True}
        return Response(VersionSerializer(version, context=context).data, status=201)

    @extend_schema(responses=VersionSerializer)
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<number>[0-9]+)",
        permission=needs(VIEW_VERSION, message="Reading versions needs the view role."),
    )
    def version(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        mapping = self.get_object()
        found = mapping.versions.filter(number=int(number)).first()
        if found is None:
            return Response({"detail": f"There is no version {number} of this mapping."}, 404)
        return Response(VersionSerializer(found, context=self.version_context(mapping)).data)

    @extend_schema(request=RestoreSerializer, responses={201: VersionSerializer})
    @action(
        detail=True,
        methods=["post"],
        permission=needs(ADD_VERSION, message="Restoring needs the admin role."),
    )
    def restore(self, request: Request, pk: str | None = None) -> Response:
        """Save a copy of an old version as the newest one; history keeps everything."""
        mapping = self.get_object()
        serializer = RestoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = serializer.validated_data["version"]
        if not mapping.versions.filter(number=number).exists():
            raise ValidationError({"version": [f"There is no version {number} of this mapping."]})
        version = restore_version(mapping, number, request.user)
        return Response(VersionSerializer(version, context=self.version_context(mapping)).data, 201)

    @extend_schema(parameters=[DiffQuerySerializer], responses=DiffSerializer)
    @action(
        detail=True,
        methods=["get"],
        permission=needs(VIEW_VERSION, message="Comparing versions needs the view role."),
    )
    def diff(self, request: Request, pk: str | None = None) -> Response:
        """Rule by rule, what changed from version `a` to version `b`."""
        mapping = self.get_object()
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        numbers = [query.validated_data["a"], query.validated_data["b"]]
        known = set(mapping.versions.filter(number__in=numbers).values_list("number", flat=True))
        missing = {
            key: [f"There is no version {number} of this mapping."]
            for key, number in zip(("a", "b"), numbers, strict=True)
            if number not in known
        }
        if missing:
            raise ValidationError(missing)
        return Response(diff_versions(mapping, *numbers))

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission=needs(VIEW_MAPPING, message="Previewing needs the view role."),
        parser_classes=[PreviewParser],
    )
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """Map one record with the active rules (or unsaved ones) and the pair's tables and
        rates, without writing anything: not even a lookup row an on-miss "create" adds.
        It runs under the preview's time and output budget (400 with a message past it)."""
        mapping = self.get_object()
        serializer = PreviewRequestSerializer(
            data=request.data, context=self.version_context(mapping)
        )
        serializer.is_valid(raise_exception=True)
        spec = serializer.validated_data.get("spec") or active_spec(mapping)
        record = serializer.validated_data["record"]
        fields, _ = target_fields(mapping)  # a system's schema: asked before the clock starts
        full = {"target_entity": mapping.target_entity, **spec}
        budget = preview_budget()
        try:
            mapper = engine.compile_spec(full, fields or None, mapping.system, budget=budget)
            result = mapper.apply(record, PreviewEnvironment(mapping.pair))
            reply = {
                "output": json_safe(result.output),
                "issues": [issue.to_dict() for issue in [*mapper.spec_issues, *result.issues]],
                "ok": result.ok,
                "needs_review": result.needs_review,
            }
            if len(json.dumps(reply, default=str)) > budget.max_bytes:
                budget.overflow("the end")
        except engine.MappingSpecError as exc:
            return Response({"spec": exc.problems}, status=400)
        except engine.BudgetExceeded as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(reply)

    @extend_schema(
        request=SuggestRequestSerializer,
        responses=inline_serializer(
            "Suggestions", {"suggestions": SuggestionSerializer(many=True)}
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        permission=needs(VIEW_MAPPING, message="Suggestions need the view role."),
        parser_classes=[PreviewParser],
    )
    def suggest(self, request: Request, pk: str | None = None) -> Response:
        """Proposed rules for the targets the spec leaves empty, best first."""
        mapping = self.get_object()
        serializer = SuggestRequestSerializer(
            data=request.data, context=self.version_context(mapping)
        )
        serializer.is_valid(raise_exception=True)
        spec = serializer.validated_data.get("spec") or active_spec(mapping)
        sources, source_error = source_fields(mapping)
        targets, target_error = target_fields(mapping)
        if source_error or target_error:
            return Response({"detail": source_error or target_error}, status=502)
        source_infos = [
            FieldInfo(f.path, f.label, f.type, f.length, f.required, f.custom) for f in sources
        ]
        spec = {"source_entity": mapping.source_entity, "target_entity": mapping.target_entity,
                **spec}  # fmt: skip
        found = suggest(source_infos, targets, serializer.validated_data.get("sample"), spec)
        return Response({"suggestions": SuggestionSerializer(found, many=True).data})


def active_spec(mapping: Mapping) -> dict[str, Any]:
    return mapping.active_version.spec if mapping.active_version else {"rules": []}
