"""A Sage Accounting refresh token that is dead (used or expired): the runs pause, the pair
stops, the connection says `needs_reauth`, deliveries keep being stored; reconnecting and
resuming the pair finishes every run, once."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connectors.models import Connection
from connectors.services import connector_for
from flows.models import SyncRun
from flows.sweeper import sweep
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEALS = ("SRV-2001", "SRV-2013")


def spend_refresh_token(sandbox, refresh_token: str) -> None:
    """Use the refresh token once, as another copy of the app would: Sage rotates it, so the
    connection's copy is dead from now on."""
    reply = requests.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token,
              "client_id": "sandbox-client", "client_secret": "sandbox-secret"},
        timeout=5,
    )  # fmt: skip
    reply.raise_for_status()


def test_a_dead_refresh_token_pauses_the_runs_and_reconnecting_finishes_them(
    client, streak_sandbox, sage_accounting_sandbox
):
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    pair, token = shared.make_pair("Streak Sage 50", crm, erp, "deal_won_to_invoice")
    spend_refresh_token(sage_accounting_sandbox, erp.secrets["refresh_token"])
    erp.secrets = {**erp.secrets, "access_token": "expired-access-token"}
    erp.save()

    _, first = shared.win_box(client, streak_sandbox, pair, token, DEALS[0])
    first.refresh_from_db()
    pair.refresh_from_db()
    erp.refresh_from_db()
    assert first.status == SyncRun.Status.RETRY_SCHEDULED and first.attempt == 0
    assert "authorise again" in first.error_message
    assert not pair.enabled
    assert erp.status == Connection.Status.NEEDS_REAUTH
    # While paused, new deliveries are still stored, and nothing runs.
    _, second = shared.win_box(client, streak_sandbox, pair, token, DEALS[1])
    sweep()
    assert {run.status for run in SyncRun.objects.filter(pair=pair)} <= {
        SyncRun.Status.RETRY_SCHEDULED, SyncRun.Status.PENDING
    }  # fmt: skip

    tokens = requests.post(f"{sage_accounting_sandbox.url}/_control/oauth/tokens", timeout=5)
    erp.secrets = {**erp.secrets, **tokens.json()}
    erp.status = Connection.Status.UNKNOWN
    erp.save()
    pair.enabled = True
    pair.save()
    # The sweeper leaves a pending run alone for its first minute (its own enqueue should
    # get it going): stand a minute later, as the schedule's next ticks would.
    SyncRun.objects.filter(pair=pair).update(created_at=timezone.now() - timedelta(minutes=2))
    sweep()

    sage = connector_for(erp)
    for run, deal_id in zip((first, second), DEALS, strict=True):
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        assert len(sage.search("sales_invoices", reference=deal_id)) == 1
