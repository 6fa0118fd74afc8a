"""A signed-in person in no group (no role yet) sees no data: instead of the dashboard, a page
saying they have no role and whom to ask; the API tells them the same. Their own settings
stay open (tests/unit/test_view_permissions.py checks every URL's rule for this)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clarity.models import ApiToken
from tests.conftest import PASSWORD
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

PAIR_NAME = "Acme Deals to Sage"


@pytest.fixture
def newcomer(client, users, make_user):
    """Signed in through the sign-in page, with an Integration admin to ask."""
    IntegrationPairFactory(name=PAIR_NAME)
    make_user("newcomer")
    response = client.post(reverse("login"), {"username": "newcomer", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_signing_in_without_a_role_lands_on_a_page_saying_whom_to_ask(newcomer):
    response = newcomer.get(reverse("after-sign-in"), follow=True)

    assert response.status_code == 403
    page = response.content.decode()
    assert "you have no role yet" in page
    assert "Ask an Integration admin to give you one: <strong>admin</strong>" in page
    assert PAIR_NAME not in page


@pytest.mark.parametrize("url_name", ["dashboard", "dashboard-cards", "dashboard-chart"])
def test_no_dashboard_data_without_a_role(newcomer, url_name):
    response = newcomer.get(reverse(url_name))
    assert response.status_code == 403
    assert PAIR_NAME not in response.content.decode()
    assert "datasets" not in response.content.decode()


def test_the_navigation_offers_only_ones_own_settings(newcomer):
    page = newcomer.get(reverse("settings"))
    assert page.status_code == 200
    assert [item["label"] for item in page.context["nav_items"]] == ["Settings"]


def test_the_api_says_the_same_and_shows_nothing(users, make_user):
    token = ApiToken.issue(make_user("scripter"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    IntegrationPairFactory(name=PAIR_NAME)
    response = api.get("/api/v1/pairs/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You have no role yet: ask an Integration admin to give you one."
    }


def test_a_viewer_still_sees_the_dashboard(client, users):
    IntegrationPairFactory(name=PAIR_NAME)
    client.force_login(users["viewer"])
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200 and PAIR_NAME in response.content.decode()
