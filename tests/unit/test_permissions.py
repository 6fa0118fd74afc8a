"""Every page and API endpoint so far, for each role and for anonymous visitors."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clarity.models import ApiToken
from tests.factories import ConnectionFactory, IntegrationPairFactory

pytestmark = pytest.mark.django_db

ROLES = ["admin", "operator", "approver", "viewer", "anonymous"]
READ_ALL = {"admin": 200, "operator": 200, "approver": 200, "viewer": 200, "anonymous": 302}
ADMIN_ONLY = {"admin": 200, "operator": 403, "approver": 403, "viewer": 403, "anonymous": 302}
ADMIN_ONLY_POST = {**ADMIN_ONLY, "admin": 302}

# (name, method, url builder, expected status per role)
PAGES = [
    ("dashboard", "get", lambda o: reverse("dashboard"), READ_ALL),
    ("settings", "get", lambda o: reverse("settings"), READ_ALL),
    ("connection list", "get", lambda o: reverse("connection-list"), READ_ALL),
    ("connection choose", "get", lambda o: reverse("connection-choose"), ADMIN_ONLY),
    ("connection create", "get", lambda o: reverse("connection-create", args=["streak"]),
     ADMIN_ONLY),
    ("connection edit", "get", lambda o: reverse("connection-edit", args=[o["conn"].pk]),
     ADMIN_ONLY),
    ("connection test", "post", lambda o: reverse("connection-test", args=[o["conn"].pk]),
     {**ADMIN_ONLY_POST, "operator": 302}),
    ("pair list", "get", lambda o: reverse("pair-list"), READ_ALL),
    ("pair detail", "get", lambda o: o["pair"].get_absolute_url(), READ_ALL),
    ("pair create", "get", lambda o: reverse("pair-create"), ADMIN_ONLY),
    ("pair edit", "get", lambda o: reverse("pair-edit", args=[o["pair"].slug]), ADMIN_ONLY),
    ("pair rotate", "post", lambda o: reverse("pair-rotate-token", args=[o["pair"].slug]),
     ADMIN_ONLY_POST),
    ("api docs", "get", lambda o: reverse("api-docs"),
     {**READ_ALL, "anonymous": 401}),
    ("django admin", "get", lambda o: reverse("admin:index"),
     {**ADMIN_ONLY, "operator": 302, "approver": 302, "viewer": 302}),
]  # fmt: skip

API_READ = {"admin": 200, "operator": 200, "approver": 200, "viewer": 200, "anonymous": 401}
API_ADMIN = {"operator": 403, "approver": 403, "viewer": 403, "anonymous": 401}
API = [
    ("api connections list", "get", lambda o: "/api/v1/connections/", None, API_READ),
    ("api connection detail", "get", lambda o: f"/api/v1/connections/{o['conn'].pk}/", None,
     API_READ),
    ("api connection create", "post", lambda o: "/api/v1/connections/",
     {"name": "New", "system": "streak", "settings": {"base_url": "http://127.0.0.1:8101"},
      "secrets": {"api_key": "k"}}, {**API_ADMIN, "admin": 201}),
    ("api connection patch", "patch", lambda o: f"/api/v1/connections/{o['conn'].pk}/",
     {"name": "Renamed"}, {**API_ADMIN, "admin": 200}),
    ("api connection delete", "delete", lambda o: f"/api/v1/connections/{o['spare'].pk}/",
     None, {**API_ADMIN, "admin": 204}),
    ("api connection test", "post", lambda o: f"/api/v1/connections/{o['conn'].pk}/test/",
     None, {**API_ADMIN, "admin": 200, "operator": 200}),
    ("api pairs list", "get", lambda o: "/api/v1/pairs/", None, API_READ),
    ("api pair rotate", "post", lambda o: f"/api/v1/pairs/{o['pair'].pk}/rotate-token/", None,
     {**API_ADMIN, "admin": 200}),
    ("api schema", "get", lambda o: "/api/schema/", None, {**API_READ}),
]  # fmt: skip


@pytest.fixture
def objects(users):
    pair = IntegrationPairFactory()
    return {"pair": pair, "conn": pair.crm, "spare": ConnectionFactory(name="Spare")}


def browser_client(client, users, role):
    if role != "anonymous":
        client.force_login(users[role])
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_page_access(client, users, objects, role, name, method, url, expected):
    response = getattr(browser_client(client, users, role), method)(url(objects))
    assert response.status_code == expected[role], f"{name} as {role}"
    if response.status_code == 302 and role == "anonymous" and name != "django admin":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), API,
                         ids=[a[0] for a in API])  # fmt: skip
def test_api_access_with_a_token(users, objects, role, name, method, url, body, expected):
    api = APIClient()
    if role != "anonymous":
        api.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(users[role])}")
    response = getattr(api, method)(url(objects), body, format="json")
    assert response.status_code == expected[role], f"{name} as {role}: {response.content[:300]}"


def test_healthz_is_open_to_anyone(client):
    assert client.get("/healthz").status_code == 200


def test_viewer_sees_no_edit_or_create_buttons(client, users, objects):
    client.force_login(users["viewer"])
    listing = client.get(reverse("connection-list")).content.decode()
    assert reverse("connection-edit", args=[objects["conn"].pk]) not in listing
    assert reverse("connection-choose") not in listing
    detail = client.get(objects["pair"].get_absolute_url()).content.decode()
    assert "Rotate webhook URL" not in detail
    assert reverse("pair-edit", args=[objects["pair"].slug]) not in detail
