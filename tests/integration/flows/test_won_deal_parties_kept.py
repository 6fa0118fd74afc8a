"""A won deal's organization and contact are kept between the deals of one company, and an
organization edited in Streak is read again as soon as its ORG_UPDATE delivery is stored: a
kept address never reaches an order after Streak said it changed."""

import json
import time

import pytest

from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def move_organization(client, streak_sandbox, pair, token, key: str, address: str) -> None:
    """A person gives the organization a new address in Streak, which tells the pair."""
    store = streak_sandbox.app.store
    organization = dict(store.get("organizations", key))
    organization.update(addresses=[address], lastUpdatedTimestamp=int(time.time() * 1000))
    store.put("organizations", key, organization)
    reply = client.post(
        f"/hooks/{pair.slug}/{token}/?event=ORG_UPDATE",
        data=json.dumps([organization]),
        content_type="application/json",
    )
    assert reply.status_code == 200, reply.content


def test_an_address_changed_in_streak_reaches_the_next_order_of_the_same_company(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    first = shared.won_clone(streak_sandbox, "SAL-1005", "MOVED-1")
    shared.won_and_done(client, pair, token, first)
    [before] = shared.orders_for(sage, "MOVED-1")
    organization_key = first["organizations"][0]["key"]
    new_address = "9 Harbour Road, Portland, OR 97201, US"
    move_organization(client, streak_sandbox, pair, token, organization_key, new_address)
    shared.won_and_done(
        client, pair, token, shared.won_twice_as_big(streak_sandbox, "SAL-1005", "MOVED-2")
    )
    [after] = shared.orders_for(sage, "MOVED-2")
    assert before["ShipToCity"] != "Portland"
    assert (after["ShipToAddress1"], after["ShipToCity"], after["ShipToZipCode"]) == (
        "9 Harbour Road", "Portland", "97201",
    )  # fmt: skip
