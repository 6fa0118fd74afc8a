"""A poll waits on the systems it reads with no transaction open. On SQLite every
transaction holds the database's one write lock from its start, so a poll that read its
feeds inside one kept webhooks from being stored, and runs from writing their steps, for as
long as the CRM took to answer (hundreds of milliseconds a page, for each pair that polls)."""

import pytest
from django.db import connection

from flows.models import FlowConfig
from flows.polling import poll
from tests.integration.write_lock import watch_writes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one write lock"),
]
FLOW = "deal_won_to_sales_order"  # a Streak pair's won-deal flow polls to catch up


def test_the_database_takes_writes_while_a_poll_waits_on_the_crm(
    monkeypatch, sage100_pair, streak_sandbox
):
    pair, _token = sage100_pair
    config = FlowConfig.objects.select_related("pair__crm", "pair__erp").get(pair=pair, flow=FLOW)
    seen = watch_writes(monkeypatch, streak_sandbox.app, streak_sandbox.app.is_api)

    poll(config)  # takes its position: reads the pipeline's boxes
    poll(config)

    assert seen, "the poll asked Streak nothing"
    assert all(seen), f"the database was locked during {seen.count(False)} of the poll's calls"
