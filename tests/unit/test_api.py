"""The REST API validates with the same rules as the pages and says which field is wrong."""

import pytest
from rest_framework.test import APIClient

from connectors.models import IntegrationPair
from tests.factories import ConnectionFactory, IntegrationPairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(users):
    client = APIClient()
    client.force_authenticate(users["admin"])
    return client


def test_invalid_settings_are_reported_per_field(api):
    response = api.post(
        "/api/v1/connections/",
        {
            "name": "SF",
            "system": "salesforce",
            "settings": {"login_url": "not a url", "auth_flow": "jwt_bearer", "colour": "red"},
            "secrets": {},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"settings": {"colour": ["Unknown field for this system."]}}

    response = api.post(
        "/api/v1/connections/",
        {
            "name": "SF",
            "system": "salesforce",
            "settings": {
                "login_url": "not a url",
                "auth_flow": "jwt_bearer",
                "client_id": "x",
                "api_version": "59.0",
            },
        },
        format="json",
    )
    errors = response.json()
    assert "Enter a valid URL." in errors["settings"]["login_url"]
    assert "username" in errors["settings"]
    assert errors["secrets"]["private_key"] == [
        "Private key (PEM) is required for the jwt bearer flow."
    ]


def test_a_secret_sent_as_a_setting_is_refused(api):
    response = api.post(
        "/api/v1/connections/",
        {"name": "S", "system": "streak", "settings": {"api_key": "oops"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["settings"]["api_key"] == ["A secret: send it in `secrets`."]


def test_system_cannot_change(api):
    connection = ConnectionFactory()
    response = api.patch(
        f"/api/v1/connections/{connection.pk}/", {"system": "sage50"}, format="json"
    )
    assert response.status_code == 400
    assert "cannot change" in response.json()["system"][0]


def test_creating_a_pair_returns_its_webhook_url_once(api):
    crm = ConnectionFactory()
    erp = ConnectionFactory(name="Sage", system="sage50", settings={"client_id": "x"})
    created = api.post(
        "/api/v1/pairs/", {"name": "Acme", "crm": crm.pk, "erp": erp.pk}, format="json"
    )
    assert created.status_code == 201, created.content
    url = created.json()["webhook_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    pair = IntegrationPair.objects.get(slug="acme")
    assert pair.webhook_token_matches(token)
    assert api.get(f"/api/v1/pairs/{pair.pk}/").json()["webhook_url"] is None


def test_rotating_a_token_invalidates_the_old_one(api):
    pair = IntegrationPairFactory()
    old = pair.rotate_webhook_token()
    pair.save()
    response = api.post(f"/api/v1/pairs/{pair.pk}/rotate-token/")
    new = response.json()["webhook_url"].rstrip("/").rsplit("/", 1)[1]
    pair.refresh_from_db()
    assert pair.webhook_token_matches(new) and not pair.webhook_token_matches(old)


def test_pair_of_two_crms_is_refused_by_the_api(api):
    one, two = ConnectionFactory(), ConnectionFactory()
    response = api.post(
        "/api/v1/pairs/", {"name": "Bad", "crm": one.pk, "erp": two.pk}, format="json"
    )
    assert response.status_code == 400
    assert "is not an ERP" in response.json()["erp"][0]
