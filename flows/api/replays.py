"""The period replay API, per pair: start a replay of a flow's events in a date range (with
a chosen mapping version, or the active ones), see how many events a range holds first,
follow a replay's counts and log, and cancel it. Every role reads; integration admins
start and cancel (a replay writes to the ERP)."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from connectors.models import IntegrationPair
from flows.models import Replay
from flows.replays import OPEN, REPLAYS, ReplayRefused, cancel_replay, preview, settle, start_replay
from mappings.models import MappingVersion


class ReplaySerializer(serializers.ModelSerializer):
    pair = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    mapping_version_label = serializers.SerializerMethodField(
        help_text="The version the runs map with; empty: each mapping's active version."
    )
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Replay
        fields = ["id", "pair", "flow", "since", "until", "mapping_version",
                  "mapping_version_label", "requested_by", "status", "events", "replayed",
                  "skipped", "created", "failed", "log", "created_at", "started_at",
                  "finished_at"]  # fmt: skip
        read_only_fields = fields

    def get_mapping_version_label(self, replay: Replay) -> str:
        return str(replay.mapping_version) if replay.mapping_version else ""


class ReplayRequest(serializers.Serializer):
    flow = serializers.CharField(max_length=100, help_text="The flow's name.")
    since = serializers.DateField(help_text="First day of the period (YYYY-MM-DD).")
    until = serializers.DateField(help_text="Last day of the period, included.")
    mapping_version = serializers.PrimaryKeyRelatedField(
        queryset=MappingVersion.objects.select_related("mapping"), required=False,
        allow_null=True, help_text="A mapping version's id; empty: the active versions.",
    )  # fmt: skip


class ReplayPreviewSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events of the flow in the period.")
    posted = serializers.IntegerField(help_text="Of which already posted: skipped.")
    to_replay = serializers.IntegerField()


REFUSED = OpenApiResponse(description="The replay makes no sense; `detail` says why.")
PERIOD = [
    OpenApiParameter("flow", str, required=True),
    OpenApiParameter("since", str, required=True, description="YYYY-MM-DD"),
    OpenApiParameter("until", str, required=True, description="YYYY-MM-DD, included"),
]


class ReplayViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A pair's period replays, newest first."""

    permission = REPLAYS
    serializer_class = ReplaySerializer

    def pair(self) -> IntegrationPair:
        return get_object_or_404(IntegrationPair, slug=self.kwargs["slug"])

    def get_queryset(self) -> QuerySet[Replay]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is being drawn
            return Replay.objects.none()
        return Replay.objects.filter(pair=self.pair()).select_related(
            "pair", "mapping_version__mapping", "requested_by"
        )

    def get_object(self) -> Replay:
        replay = super().get_object()
        return settle(replay) if replay.status in OPEN else replay

    @extend_schema(request=ReplayRequest, responses={201: ReplaySerializer, 400: REFUSED})
    def create(self, request: Request, slug: str) -> Response:
        """Start a replay: the runs write to the ERP; what is posted already is skipped."""
        asked = ReplayRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        try:
            replay = start_replay(self.pair(), data["flow"], data["since"], data["until"],
                                  data.get("mapping_version"), request.user)  # fmt: skip
        except ReplayRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        replay.refresh_from_db()
        return Response(ReplaySerializer(replay).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ReplaySerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, slug: str, pk: Any = None) -> Response:
        """Stop before the next event; runs already started finish and are counted."""
        try:
            replay = cancel_replay(self.get_object(), request.user)
        except ReplayRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ReplaySerializer(settle(replay)).data)

    @extend_schema(parameters=PERIOD, responses={200: ReplayPreviewSerializer, 400: REFUSED})
    @action(detail=False, methods=["get"])
    def preview(self, request: Request, slug: str) -> Response:
        """How many events of the flow the period holds, and how many are posted already."""
        asked = ReplayRequest(data=request.query_params)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        found = preview(self.pair(), data["flow"], data["since"], data["until"])
        return Response(ReplayPreviewSerializer(found).data)


REPLAYS_URL = "pairs/<slug:slug>/replays/"
urlpatterns = [
    path(REPLAYS_URL, ReplayViewSet.as_view({"get": "list", "post": "create"}),
         name="api-replay-list"),
    path(f"{REPLAYS_URL}preview/", ReplayViewSet.as_view({"get": "preview"}),
         name="api-replay-preview"),
    path(f"{REPLAYS_URL}<int:pk>/", ReplayViewSet.as_view({"get": "retrieve"}),
         name="api-replay-detail"),
    path(f"{REPLAYS_URL}<int:pk>/cancel/", ReplayViewSet.as_view({"post": "cancel"}),
         name="api-replay-cancel"),
]  # fmt: skip
