"""Fixtures for the Salesforce connector tests: a Connection row against the live sandbox
(any OAuth flow) and its connector."""

import time
from collections.abc import Callable

import pytest

from connectors.models import Connection
from connectors.salesforce.connector import SalesforceConnector


@pytest.fixture
def make_connection(salesforce_sandbox) -> Callable[..., Connection]:
    def make(flow: str = "client_credentials", secrets: dict | None = None, **settings):
        base = {
            "login_url": salesforce_sandbox.url,
            "auth_flow": flow,
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
        }
        return Connection.objects.create(
            name=f"Salesforce {flow} {time.monotonic_ns()}",
            system="salesforce",
            settings={**base, **settings},
            secrets=secrets if secrets is not None else {"client_secret": "sandbox-secret"},
        )

    return make


@pytest.fixture
def connector(make_connection) -> SalesforceConnector:
    return SalesforceConnector(make_connection())
