"""Registering a pair's webhook with Streak from the pair page."""

import pytest
import requests
from playwright.sync_api import Page, expect

from connectors.models import Connection, IntegrationPair

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"


def streak_webhooks(url: str) -> list[dict]:
    reply = requests.get(
        f"{url}/api/v2/pipelines/{SALES_PIPELINE}/webhooks",
        auth=("sandbox-streak-key", ""),
        timeout=5,
    )
    return reply.json()["results"]


def test_register_webhook_twice_leaves_one_registration_with_a_working_token(
    page: Page, live_server, users, login, streak_sandbox
):
    streak = Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={"base_url": streak_sandbox.url, "pipeline_key": SALES_PIPELINE},
        secrets={"api_key": "sandbox-streak-key"},
    )
    sage = Connection.objects.create(name="Acme Sage", system="sage50", settings={})
    pair = IntegrationPair(name="Acme deals", crm=streak, erp=sage)
    pair.rotate_webhook_token()
    pair.save()

    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    for _ in range(2):
        page.goto(f"{live_server.url}{pair.get_absolute_url()}")
        page.get_by_role("button", name="Register webhook in Streak").click()
        expect(page.get_by_role("status")).to_contain_text("Streak now posts BOX_CHANGE_STAGE")
    # the stage-change hook on the pipeline; the ORG_UPDATE and CONTACT_* hooks on the team
    expect(page.get_by_role("status")).to_contain_text("4 older registration(s) removed")

    hooks = [
        h for h in streak_webhooks(streak_sandbox.url) if "/hooks/acme-deals/" in h["targetUrl"]
    ]
    assert len(hooks) == 1 and hooks[0]["event"] == "BOX_CHANGE_STAGE"
    token = hooks[0]["targetUrl"].split("/hooks/acme-deals/")[1].split("/")[0]
    pair.refresh_from_db()
    assert pair.webhook_token_matches(token)


def test_a_streak_failure_is_reported_and_the_old_url_survives(
    page: Page, live_server, users, login, streak_sandbox
):
    streak = Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={"base_url": streak_sandbox.url, "pipeline_key": SALES_PIPELINE},
        secrets={"api_key": "wrong-key"},
    )
    sage = Connection.objects.create(name="Acme Sage", system="sage50", settings={})
    pair = IntegrationPair(name="Acme deals", crm=streak, erp=sage)
    old_token = pair.rotate_webhook_token()
    pair.save()

    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}{pair.get_absolute_url()}")
    page.get_by_role("button", name="Register webhook in Streak").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Could not register the webhook: Streak refused the API key (401)"
    )
    pair.refresh_from_db()
    assert pair.webhook_token_matches(old_token)
