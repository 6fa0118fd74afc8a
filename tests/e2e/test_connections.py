"""An admin manages connections in a real browser; a Viewer can look but not edit."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import Connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "streak-key-3b9f0c2e71"


def test_admin_creates_a_connection_and_the_secret_never_comes_back(
    page: Page, live_server, users, login
):
    login("admin")
    page.get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="New connection").click()
    page.get_by_role("link", name="Streak").click()
    page.get_by_label("Name").fill("Acme Streak")
    page.get_by_label("API key").fill(SECRET)
    page.get_by_role("button", name="Create connection").click()

    expect(page.get_by_role("status")).to_contain_text("Connection “Acme Streak” created.")
    expect(page.get_by_role("heading", name="Acme Streak")).to_be_visible()
    expect(page.get_by_text("API key")).to_be_visible()  # listed as set, value not shown
    assert Connection.objects.get(name="Acme Streak").secrets == {"api_key": SECRET}
    assert SECRET not in page.content()

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Name")).to_have_value("Acme Streak")
    expect(page.get_by_text("set", exact=True)).to_be_visible()
    expect(page.get_by_label("API key")).to_have_value("")
    assert SECRET not in page.content()


def test_viewer_sees_no_edit_buttons_and_is_refused_the_edit_page(
    page: Page, live_server, users, login
):
    connection = Connection.objects.create(
        name="Acme Streak", system="streak", settings={"base_url": "https://api.streak.com"}
    )
    login("viewer")
    expect(page.locator(".whoami .role")).to_have_text("Viewer")
    page.get_by_role("link", name="Connections").click()
    expect(page.get_by_role("cell", name="Acme Streak")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="New connection")).to_have_count(0)

    response = page.goto(f"{live_server.url}/connections/{connection.pk}/edit/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_admin_creates_a_pair_and_sees_its_webhook_url_once(page: Page, live_server, users, login):
    Connection.objects.create(name="Acme Streak", system="streak", settings={})
    Connection.objects.create(name="Acme Sage", system="sage50", settings={})
    login("admin")
    page.get_by_role("link", name="Pairs").click()
    page.get_by_role("link", name="New pair").click()
    page.get_by_label("Name").fill("Acme deals")
    page.get_by_label("CRM").select_option(label="Acme Streak (Streak)")
    page.get_by_label("ERP").select_option(label="Acme Sage (Sage Accounting)")
    page.get_by_role("button", name="Create pair").click()

    url = page.locator("#webhook-url").inner_text()
    assert f"{'/hooks/acme-deals/'}" in url
    page.reload()
    expect(page.locator("#webhook-url")).to_have_count(0)
    assert url not in page.content()


def test_pair_of_two_crms_is_refused_in_the_form(page: Page, live_server, users, login):
    Connection.objects.create(name="Streak A", system="streak", settings={})
    Connection.objects.create(name="Streak B", system="streak", settings={})
    login("admin")
    page.goto(f"{live_server.url}/pairs/new/")
    page.get_by_label("Name").fill("Two CRMs")
    page.get_by_label("CRM").select_option(label="Streak A (Streak)")
    page.get_by_label("ERP").select_option(label="Streak B (Streak)")
    page.get_by_role("button", name="Create pair").click()
    expect(page.locator(".field .error")).to_contain_text("which is not an ERP")


def test_admin_re_pointing_a_connection_types_the_key_again(page: Page, live_server, users, login):
    connection = Connection.objects.create(
        name="Acme Streak", system="streak", settings={"base_url": "https://api.streak.com"},
        secrets={"api_key": SECRET},
    )  # fmt: skip
    login("admin")
    page.goto(f"{live_server.url}/connections/{connection.pk}/edit/")
    expect(
        page.get_by_text("Changing it clears the stored API key: type it again.")
    ).to_be_visible()

    page.get_by_label("API base URL").fill("http://10.0.0.5:8101")
    page.get_by_role("button", name="Save").click()
    base_url_field = page.locator(".field.has-error", has=page.get_by_label("API base URL"))
    expect(base_url_field).to_contain_text("10.0.0.5: it is a private network address")
    expect(base_url_field).to_contain_text("CLARITY_OUTBOUND_ALLOWED_HOSTS")

    page.get_by_label("API base URL").fill("https://api.streak-eu.example")
    page.get_by_role("button", name="Save").click()
    key_field = page.locator(".field.has-error", has=page.get_by_label("API key"))
    expect(key_field).to_contain_text(
        "The API base URL changed, and a stored secret is never sent to a new address: type it "
        "again."
    )
    assert Connection.objects.get().settings["base_url"] == "https://api.streak.com"

    page.get_by_label("API key").fill("streak-key-for-the-eu-host")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Connection “Acme Streak” saved.")
    saved = Connection.objects.get()
    assert saved.settings["base_url"] == "https://api.streak-eu.example"
    assert saved.secrets == {"api_key": "streak-key-for-the-eu-host"}
