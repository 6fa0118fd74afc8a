"""/metrics names pairs and flows and counts their runs: a signed-in user with a role, or a
scraper with the bearer token of CLARITY_METRICS_TOKEN, reads it; anyone else gets 401."""

import pytest
from django.urls import reverse

from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pair():
    return IntegrationPairFactory(slug="acme-to-sage")


def test_an_anonymous_visitor_gets_401_and_no_numbers(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "clarity_runs" not in response.content.decode()
    assert "Sign in, or send Authorization: Bearer" in response.content.decode()


def test_without_a_configured_token_an_empty_bearer_is_no_token(client, settings):
    settings.CLARITY_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer").status_code == 401


def test_a_scraper_with_the_token_reads_them_and_a_wrong_token_does_not(client, settings):
    settings.CLARITY_METRICS_TOKEN = "scrape-me-7f3a"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-7f3a")
    assert response.status_code == 200
    assert "# TYPE clarity_runs gauge" in response.content.decode()


def test_a_signed_in_viewer_reads_them(client, users):
    client.force_login(users["viewer"])
    assert client.get("/metrics").status_code == 200


def test_a_signed_in_user_without_a_role_does_not(client, make_user):
    client.force_login(make_user("newcomer"))
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "clarity_runs" not in response.content.decode()


def test_the_url_is_still_metrics():
    assert reverse("metrics") == "/metrics"
