"""A pair made on the page or through the API has working default mappings at once."""

import pytest
from rest_framework.test import APIClient

from mappings.models import Mapping
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def test_a_pair_created_through_the_api_gets_its_default_mappings(users):
    api = APIClient()
    api.force_authenticate(users["admin"])
    crm = ConnectionFactory()
    erp = ConnectionFactory(name="Sage", system="sage100", settings={})
    response = api.post("/api/v1/pairs/", {"name": "Acme", "crm": crm.pk, "erp": erp.pk})
    assert response.status_code == 201, response.content

    mappings = Mapping.objects.filter(pair__slug="acme")
    assert mappings.exists()
    assert all(m.active_version is not None for m in mappings)
    assert {"in", "out"} <= set(mappings.values_list("direction", flat=True))
