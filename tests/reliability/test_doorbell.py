"""A run queued while the workers wait between looks at the queue starts at once: the
delivery rings the cluster's doorbell (flows/doorbell.py). Here the cluster looks at the
queue only every 3 s, so a run left to the next look would wait up to 3 s (1.5 on average);
rung, each of three deals starts within half a second of its delivery."""

import socket
import time

import pytest

from flows.models import SyncRun
from tests import won_deals as shared
from tests.reliability.conftest import GOOD_DEALS, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]
POLL_SECONDS = 3.0


def free_udp_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def delivered_and_done(client, streak_sandbox, pair, token, deal_id: str, copy: str) -> SyncRun:
    box = shared.won_clone(streak_sandbox, deal_id, copy)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    finished = wait_for(
        lambda: SyncRun.objects.filter(
            pair=pair, entity_key=box["key"], status=SyncRun.Status.SUCCEEDED
        ).exists(),
        timeout=30,
        every=0.05,
    )
    assert finished, "the run did not succeed"
    return SyncRun.objects.get(pair=pair, entity_key=box["key"])


def test_a_run_queued_while_the_workers_wait_starts_at_once(
    client, settings, start_cluster, streak_sandbox, sage100_pair
):
    pair, token = sage100_pair
    settings.CLARITY_DOORBELL = f"127.0.0.1:{free_udp_port()}"
    start_cluster(
        CLARITY_QUEUE_POLL_SECONDS=str(POLL_SECONDS), CLARITY_DOORBELL=settings.CLARITY_DOORBELL
    )
    delivered_and_done(client, streak_sandbox, pair, token, GOOD_DEALS[0], "BELL-0")  # warm
    waits = []
    for number, deal_id in enumerate(GOOD_DEALS[1:4], start=1):
        time.sleep(0.7)  # the cluster is waiting between looks again
        run = delivered_and_done(client, streak_sandbox, pair, token, deal_id, f"BELL-{number}")
        waits.append((run.started_at - run.created_at).total_seconds())
    assert max(waits) < 0.5, f"seconds from queued to started: {waits}"
