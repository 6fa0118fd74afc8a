"""A secret typed into a form or sent to the API never comes back: not in a page, an API
response, or a log record."""

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from connectors.models import Connection, IntegrationPair

pytestmark = pytest.mark.django_db

SECRET = "sk-live-4f9d2c7e1b8a"
REPLACEMENT = "sk-live-replaced-77aa"


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


@pytest.fixture
def admin_api(users):
    api = APIClient()
    api.force_authenticate(users["admin"])
    return api


def every_page(client, connection: Connection) -> str:
    pair = IntegrationPair.objects.first()
    urls = [
        reverse("dashboard"),
        reverse("connection-list"),
        reverse("connection-edit", args=[connection.pk]),
        reverse("pair-list"),
        "/api/v1/connections/",
        f"/api/v1/connections/{connection.pk}/",
        "/api/v1/pairs/",
        "/api/schema/",
    ]
    if pair:
        urls.append(pair.get_absolute_url())
    return "".join(client.get(url).content.decode() for url in urls)


def test_secret_from_the_form_is_never_shown_or_logged(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(
        reverse("connection-create", args=["streak"]),
        {"name": "Acme Streak", "base_url": "https://api.streak.com", "api_key": SECRET},
    )
    assert response.status_code == 302
    connection = Connection.objects.get(name="Acme Streak")
    assert connection.secrets == {"api_key": SECRET}

    pages = every_page(admin_client, connection)
    assert SECRET not in pages
    edit_page = admin_client.get(reverse("connection-edit", args=[connection.pk])).content
    assert b">set<" in edit_page  # the form says a value is stored, without showing it
    assert SECRET not in caplog.text
    assert all(SECRET not in str(record.__dict__) for record in caplog.records)


def test_form_with_an_error_does_not_echo_the_secret(admin_client):
    response = admin_client.post(
        reverse("connection-create", args=["streak"]),
        {"name": "", "base_url": "not a url", "api_key": SECRET},
    )
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    assert "This field is required" in response.content.decode()


def test_blank_secret_on_edit_keeps_it_and_a_new_value_replaces_it(admin_client):
    admin_client.post(
        reverse("connection-create", args=["streak"]),
        {"name": "Acme Streak", "base_url": "https://api.streak.com", "api_key": SECRET},
    )
    connection = Connection.objects.get()
    edit = reverse("connection-edit", args=[connection.pk])
    admin_client.post(edit, {"name": "Acme CRM", "base_url": "https://api.streak.com"})
    connection.refresh_from_db()
    assert connection.name == "Acme CRM" and connection.secrets == {"api_key": SECRET}

    admin_client.post(
        edit, {"name": "Acme CRM", "base_url": "https://api.streak.com", "api_key": REPLACEMENT}
    )
    connection.refresh_from_db()
    assert connection.secrets == {"api_key": REPLACEMENT}


def test_secret_from_the_api_is_never_returned_or_logged(admin_api, caplog):
    caplog.set_level(logging.DEBUG)
    created = admin_api.post(
        "/api/v1/connections/",
        {
            "name": "Acme Sage",
            "system": "sage50",
            "settings": {"client_id": "acme-app"},
            "secrets": {"client_secret": SECRET},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert SECRET not in created.content.decode()
    assert created.json()["secrets_set"] == ["client_secret"]

    connection = Connection.objects.get(name="Acme Sage")
    assert connection.secrets == {"client_secret": SECRET}
    patched = admin_api.patch(
        f"/api/v1/connections/{connection.pk}/", {"name": "Acme Sage 50"}, format="json"
    )
    assert patched.status_code == 200 and SECRET not in patched.content.decode()
    connection.refresh_from_db()
    assert connection.secrets == {"client_secret": SECRET}  # PATCH without secrets keeps them

    assert SECRET not in every_page(admin_api, connection)
    assert SECRET not in caplog.text


def test_secret_does_not_reach_the_audit_log(admin_client):
    from auditlog.models import LogEntry

    admin_client.post(
        reverse("connection-create", args=["streak"]),
        {"name": "Acme Streak", "base_url": "https://api.streak.com", "api_key": SECRET},
    )
    entries = LogEntry.objects.all()
    assert entries.exists()
    assert all(SECRET not in str(entry.changes) for entry in entries)
    assert any("secrets_changed_at" in str(entry.changes) for entry in entries)


def test_editing_a_connection_keeps_what_the_connector_recorded(admin_client):
    connection = Connection.objects.create(
        name="Acme SF",
        system="streak",
        settings={"base_url": "https://api.streak.com", "api_usage": {"used": 3, "limit": 10}},
        secrets={"api_key": SECRET},
    )
    admin_client.post(
        reverse("connection-edit", args=[connection.pk]),
        {"name": "Acme CRM", "base_url": "https://api.streak.com"},
    )
    connection.refresh_from_db()
    assert connection.settings["api_usage"] == {"used": 3, "limit": 10}
