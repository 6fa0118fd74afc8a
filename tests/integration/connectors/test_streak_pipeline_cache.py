"""The Streak pipeline (field and stage names → keys) read once for all of a connection's
connectors in this process, and read again as soon as a box or a write names a field or
stage the kept copy does not have. Against the live Streak sandbox."""

import pytest
import requests

from connectors.models import Connection
from connectors.services import connector_for
from sandbox.streak import data

pytestmark = pytest.mark.django_db

KEY = "sandbox-streak-key"
SALES_BOX = "Van Dijk Installaties B.V. - New site fit-out"  # a seeded Sales box


@pytest.fixture
def connection(streak_sandbox) -> Connection:
    return Connection.objects.create(
        name="Streak",
        system="streak",
        settings={"base_url": streak_sandbox.url, "pipeline_key": data.SALES["key"],
                  "requests_per_second": 500},
        secrets={"api_key": KEY},
    )  # fmt: skip


@pytest.fixture
def pipeline_reads(monkeypatch, streak_sandbox) -> list[str]:
    """The paths of the pipeline reads the Streak sandbox answers."""
    reads: list[str] = []
    dispatch = streak_sandbox.app.dispatch

    def counting(request):
        if request.method == "GET" and request.path.startswith("/api/v1/pipelines/"):
            reads.append(request.path)
        return dispatch(request)

    monkeypatch.setattr(streak_sandbox.app, "dispatch", counting)
    return reads


def add_field(monkeypatch, key: str, name: str) -> None:
    """An admin adds a text field to the Sales pipeline in Streak."""
    fields = [*data.SALES["fields"], data.field_definition(key, name, "TEXT_INPUT", None)]
    monkeypatch.setitem(data.SALES, "fields", fields)


def test_the_connectors_of_one_connection_read_the_pipeline_once(connection, pipeline_reads):
    first, second = connector_for(connection), connector_for(connection)  # two runs
    box = first.search("Box", name=SALES_BOX)[0]
    assert second.get("Box", box["key"])["stageName"] == box["stageName"]
    assert len(pipeline_reads) == 1


def test_a_field_added_in_streak_after_the_read_is_decoded_at_once(
    connection, monkeypatch, streak_sandbox, pipeline_reads
):
    streak = connector_for(connection)
    box = streak.search("Box", name=SALES_BOX)[0]
    add_field(monkeypatch, "1099", "Region")
    requests.post(
        f"{streak_sandbox.url}/api/v1/boxes/{box['key']}",
        json={"fields": {"1099": "Benelux"}},
        auth=(KEY, ""),
        timeout=5,
    ).raise_for_status()  # a user fills it in
    assert connector_for(connection).get("Box", box["key"])["fieldsByName"]["Region"] == "Benelux"
    assert len(pipeline_reads) == 2  # once, and again for the field it did not know


def test_a_field_added_in_streak_after_the_read_can_be_written_by_name(
    connection, monkeypatch, streak_sandbox
):
    streak = connector_for(connection)
    box = streak.search("Box", name=SALES_BOX)[0]
    add_field(monkeypatch, "1099", "Region")
    written = connector_for(connection).write_back(box["key"], {"Region": "Nordics"})
    assert written["fieldsByName"]["Region"] == "Nordics"
