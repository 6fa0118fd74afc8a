"""The runs API: runs with their steps (retry or cancel them), and the events received."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clarity.permissions import model_rule, needs
from flows.models import InboundEvent, RunStep, SyncRun
from flows.run_edits import EditRefused, edit_and_retry, editable_document
from flows.services import FROM_FAILED_STEP, FROM_START, RunActionRefused, cancel_run, retry_run


class RunStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunStep
        fields = ["attempt", "order", "name", "status", "input", "output", "error",
                  "duration_ms", "started_at"]  # fmt: skip


class SyncRunSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    flow = serializers.CharField(source="flow_config.flow", read_only=True)
    steps = RunStepSerializer(many=True, read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id", "pair", "flow", "entity_key", "status", "attempt", "summary", "references",
            "error_class", "error_message", "error_detail", "error_fields", "next_attempt_at",
            "created_at", "started_at", "finished_at", "event", "steps",
        ]  # fmt: skip
        read_only_fields = fields


RUN_FILTERS = {"pair": "pair__slug", "flow": "flow_config__flow", "status": "status",
               "entity_key": "entity_key"}  # fmt: skip


@extend_schema(
    parameters=[
        OpenApiParameter(name, str, description=f"Only runs with this {name}.")
        for name in RUN_FILTERS
    ]
)
class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    permission = model_rule(SyncRun)
    serializer_class = SyncRunSerializer

    def get_queryset(self) -> QuerySet[SyncRun]:
        runs = SyncRun.objects.select_related("pair", "flow_config").prefetch_related("steps")
        for param, lookup in RUN_FILTERS.items():
            value = self.request.query_params.get(param)
            if value:
                runs = runs.filter(**{lookup: value})
        return runs

    @extend_schema(
        request=inline_serializer(
            "RetryRequest", {"from": serializers.ChoiceField([FROM_FAILED_STEP, FROM_START])}
        ),
        responses=SyncRunSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        permission=needs("flows.retry_syncrun", message="Retrying needs the Operator role."),
    )
    def retry(self, request: Request, pk: Any = None) -> Response:
        """Run it again now: from the failed step (default) or from the start."""
        return self.act(lambda run: retry_run(run, request.data.get("from", FROM_FAILED_STEP)))

    @extend_schema(request=None, responses=SyncRunSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission=needs("flows.cancel_syncrun", message="Cancelling needs the Operator role."),
    )
    def cancel(self, request: Request, pk: Any = None) -> Response:
        return self.act(cancel_run)

    @extend_schema(request=None, responses=dict)
    @action(
        detail=True,
        methods=["get"],
        permission=needs("flows.retry_syncrun", message="Editing needs the Operator role."),
    )
    def document(self, request: Request, pk: Any = None) -> Response:
        """The failed run's mapped document as it can be edited: header fields and lines."""
        try:
            editable = editable_document(self.get_object())
        except RunActionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(editable.to_dict())

    @extend_schema(
        request=inline_serializer(
            "EditRequest",
            {
                "changes": serializers.DictField(child=serializers.CharField(allow_blank=True)),
                "note": serializers.CharField(required=False, allow_blank=True),
            },
        ),
        responses=SyncRunSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        permission=needs("flows.retry_syncrun", message="Editing needs the Operator role."),
    )
    def edit(self, request: Request, pk: Any = None) -> Response:
        """Correct the failed run's document ({"changes": {"lines[0].sku": "WIDGET-100"},
        "note": "…"}) and retry it; a changed quantity or price waits for an approver."""
        run = self.get_object()
        changes, note = request.data.get("changes"), request.data.get("note") or ""
        if not isinstance(changes, dict) or not isinstance(note, str):
            return Response(
                {"changes": 'Send the changes as {"field": "new value"}, e.g. '
                            '{"lines[0].quantity": "2"}.'},
                status=status.HTTP_400_BAD_REQUEST,
            )  # fmt: skip
        try:
            edit_and_retry(run, request.user, changes, note)
        except RunActionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except EditRefused as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        run.refresh_from_db()
        return Response(SyncRunSerializer(run).data)

    def act(self, do: Any) -> Response:
        try:
            run = do(self.get_object())
        except RunActionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(SyncRunSerializer(run).data)


class InboundEventSerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = InboundEvent
        fields = ["id", "pair", "source", "kind", "entity_key", "dedupe_key", "status",
                  "error", "payload", "headers", "received_at"]  # fmt: skip
        read_only_fields = fields


class InboundEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):  # fmt: skip
    permission = model_rule(InboundEvent)
    serializer_class = InboundEventSerializer

    def get_queryset(self) -> QuerySet[InboundEvent]:
        events = InboundEvent.objects.select_related("pair")
        pair = self.request.query_params.get("pair")
        return events.filter(pair__slug=pair) if pair else events
