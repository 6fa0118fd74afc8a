"""After "Retry selected" the runs list goes back where it came from (`next`), only ever to a
page of ours: a link that posts to it cannot send an operator on to another site."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, users):
    client.force_login(users["operator"])
    return client


@pytest.mark.parametrize(
    "elsewhere",
    ["https://evil.example/login", "//evil.example/login", "http:\\\\evil.example",
     "https:///evil.example", "javascript:alert(1)"],
)  # fmt: skip
def test_retry_selected_never_redirects_to_another_site(operator, elsewhere):
    response = operator.post(reverse("run-retry-selected"), {"run": [], "next": elsewhere})
    assert response.status_code == 302
    assert response["Location"] == reverse("run-list")


def test_retry_selected_goes_back_to_the_filtered_list_it_came_from(operator):
    back = f"{reverse('run-list')}?status=failed&q=D-1001"
    response = operator.post(reverse("run-retry-selected"), {"run": [], "next": back})
    assert response["Location"] == back
