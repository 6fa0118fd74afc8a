"""One Sage customer per CRM organization, however its deals arrive: several deals of each
of ten new organizations won at once, run by two and by four real qcluster workers, for
every ERP, and the customers counted in Sage."""

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connectors.services import connector_for
from flows.models import SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.reliability.conftest import settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]
ORGANIZATIONS = 10


@pytest.fixture
def sage50_pair(transactional_db, streak_sandbox, sage_accounting_sandbox) -> tuple:
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    return shared.make_pair("Streak Sage 50", crm, erp, "deal_won_to_invoice")


def deals_of_new_organizations(streak_sandbox, streak, template: str) -> dict[str, list[dict]]:
    """Two to five won boxes for each of ten organizations Sage has never seen, by name."""
    rng = random.Random(42)
    boxes: dict[str, list[dict]] = {}
    for number in range(ORGANIZATIONS):
        name = f"Twin Check {number} {uuid.uuid4().hex[:6]}"
        organization = streak.create("Organization", {"name": name}, f"org-{name}")
        boxes[name] = []
        for deal in range(rng.randint(2, 5)):
            box = shared.won_clone(streak_sandbox, template, f"TWIN-{number}-{deal}")
            stored = streak_sandbox.app.store.get("boxes", box["key"])
            stored |= {"organizations": [{"key": organization["key"]}], "contacts": []}
            streak_sandbox.app.store.put("boxes", box["key"], stored)
            boxes[name].append(shared.raw_box(streak_sandbox, box["key"]))
    return boxes


def deliver_all_at_once(live_server, pair, token: str, boxes: list[dict]) -> None:
    url = f"{live_server.url}/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"

    def post(box: dict) -> int:
        headers = {"Content-Type": "application/json"}
        return requests.post(url, data=json.dumps([box]), headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(post, boxes)) == {200}


@pytest.mark.parametrize("workers", [2, 4])
@pytest.mark.parametrize("erp", ["sage100", "sage50"])
def test_deals_won_together_make_one_customer_per_organization(
    request, live_server, start_cluster, streak_sandbox, erp, workers
):
    pair, token = request.getfixturevalue(f"{erp}_pair")
    shared.without_anomaly_checks(pair)  # each organization wins copies of one deal
    streak, sage = connector_for(pair.crm), connector_for(pair.erp)
    template = "SAL-1005" if erp == "sage100" else "SRV-2001"
    boxes = deals_of_new_organizations(streak_sandbox, streak, template)
    start_cluster(CLARITY_WORKERS=str(workers))

    deliver_all_at_once(live_server, pair, token, [b for each in boxes.values() for b in each])

    runs = settle(lambda: list(SyncRun.objects.filter(pair=pair)), timeout=180)
    assert len(runs) == sum(len(each) for each in boxes.values())
    assert all(run.status == SyncRun.Status.SUCCEEDED for run in runs), {
        run.entity_key: run.error_message for run in runs if run.status != "succeeded"
    }
    for name, deals in boxes.items():
        refs = {run.references["sage_customer"] for run in runs
                if run.entity_key in {box["key"] for box in deals}}  # fmt: skip
        assert len(refs) == 1, f"{name}: booked to {refs}"
        if erp == "sage100":
            assert len(shared.customers_named(sage, name)) == 1, name
        else:
            assert len(sage.search("contacts", name=name)) == 1, name
