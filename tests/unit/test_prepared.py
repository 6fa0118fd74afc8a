"""A prepared query answers as its QuerySet would, with the values of each call."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clarity.prepared import Param, PreparedChange, PreparedQuery
from flows.models import FlowConfig, InboundEvent, SyncRun
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

RUN = PreparedQuery(
    lambda: SyncRun.objects.select_related("flow_config", "pair__crm", "event").filter(
        pk=Param("pk")
    )
)
KEYS_SINCE = PreparedQuery(
    lambda kinds: (
        InboundEvent.objects.filter(
            pair_id=Param("pair"), kind__in=kinds, received_at__gte=Param("since")
        )
        .order_by("pk")
        .values_list("entity_key", flat=True)
    )
)
EVENT_ROWS = PreparedQuery(
    lambda: (
        InboundEvent.objects.filter(pair_id=Param("pair"))
        .order_by("pk")
        .values_list("kind", "payload", "received_at")
    )
)


@pytest.fixture
def pair():
    return IntegrationPairFactory()


def event(pair, kind: str, key: str) -> InboundEvent:
    return InboundEvent.objects.create(
        pair=pair,
        source="webhook",
        kind=kind,
        entity_key=key,
        dedupe_key=key,
        payload={"key": key, "n": 1},
    )


def run_of(pair, key: str, made: InboundEvent | None = None) -> SyncRun:
    config = FlowConfig.objects.filter(pair=pair).first()
    return SyncRun.objects.create(pair=pair, flow_config=config, entity_key=key, event=made)


def test_instances_come_with_their_related_rows_as_the_orm_gives_them(pair):
    made = event(pair, "stage", "BOX-1")
    first, second = run_of(pair, "BOX-1", made), run_of(pair, "BOX-2")
    for run in (first, second):
        orm = SyncRun.objects.select_related("flow_config", "pair__crm", "event").get(pk=run.pk)
        prepared = RUN.first(pk=run.pk)
        assert vars(prepared.pair.crm) | {"_state": None} == vars(orm.pair.crm) | {"_state": None}
        assert prepared.entity_key == orm.entity_key and prepared.created_at == orm.created_at
        assert prepared.flow_config.flow == orm.flow_config.flow
    with CaptureQueriesContext(connection) as queries:
        found = RUN.first(pk=first.pk)
        assert found.event.payload == {"key": "BOX-1", "n": 1}  # JSON decoded
        assert RUN.first(pk=second.pk).event is None
    assert len(queries) == 2  # the related rows came with the run
    assert RUN.first(pk=second.pk + 1000) is None


def test_values_are_converted_and_adapted_like_the_orms(pair):
    old = event(pair, "stage", "OLD")
    InboundEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=2))
    event(pair, "stage", "NEW")
    event(pair, "contact", "CONTACT")
    hour_ago = timezone.now() - timedelta(hours=1)
    assert KEYS_SINCE.all(("stage",), pair=pair.pk, since=hour_ago) == ["NEW"]
    assert KEYS_SINCE.all(("stage", "contact"), pair=pair.pk, since=hour_ago) == [
        "NEW",
        "CONTACT",
    ]
    assert KEYS_SINCE.all((), pair=pair.pk, since=hour_ago) == []  # nothing to look for
    rows = EVENT_ROWS.all(pair=pair.pk)
    assert rows == list(
        InboundEvent.objects.filter(pair=pair)
        .order_by("pk")
        .values_list("kind", "payload", "received_at")
    )
    assert rows[0][1] == {"key": "OLD", "n": 1} and timezone.is_aware(rows[0][2])


def test_each_shape_is_compiled_once_per_thread(pair):
    event(pair, "stage", "A")
    keys = PreparedQuery(KEYS_SINCE.build)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            keys.all(("stage",), pair=pair.pk, since=timezone.now() - timedelta(days=1))
        keys.all(("contact",), pair=pair.pk, since=timezone.now())
    assert len({query["sql"].split(" WHERE ")[0] for query in queries}) == 1
    assert len(keys.local.compiled) == 2  # one statement for each shape asked


def test_an_update_or_delete_changes_the_rows_the_queryset_selects(pair):
    kept, moved = event(pair, "stage", "KEPT"), event(pair, "stage", "MOVED")
    later = timezone.now() + timedelta(hours=3)
    move = PreparedChange(
        lambda: InboundEvent.objects.filter(pk=Param("pk"), kind=Param("kind")),
        received_at=Param("at"), error="moved", payload=Param("payload"),
    )  # fmt: skip
    assert move.run(pk=moved.pk, kind="contact", at=later, payload={}) == 0  # not that kind
    assert move.run(pk=moved.pk, kind="stage", at=later, payload={"to": ["x", 1]}) == 1
    moved.refresh_from_db()
    assert (moved.received_at, moved.error) == (later, "moved")
    assert moved.payload == {"to": ["x", 1]}  # sent as the JSON field sends it
    remove = PreparedChange(lambda: InboundEvent.objects.filter(pk=Param("pk")))
    assert remove.run(pk=moved.pk) == 1 and remove.run(pk=moved.pk) == 0
    assert list(InboundEvent.objects.values_list("pk", flat=True)) == [kept.pk]
