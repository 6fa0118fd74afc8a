"""The mappings API's schema; its endpoints are tested against the live sandboxes in
tests/integration/mappings/test_api.py."""

import pytest
from django.core.management import call_command
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from mappings.api import register

router = DefaultRouter()
register(router)
urlpatterns = [path("api/v1/", include(router.urls)), path("", include("clarity.urls"))]
pytestmark = pytest.mark.urls(__name__)


def test_the_api_schema_is_clean_and_describes_the_mapping_actions(tmp_path):
    schema = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))
    text = schema.read_text()
    for route in (
        "/api/v1/mappings/{id}/preview/",
        "/api/v1/mappings/{id}/suggest/",
        "/api/v1/mappings/{id}/versions/{number}/",
        "/api/v1/lookup-entries/{id}/",
    ):
        assert route in text  # fmt: skip
