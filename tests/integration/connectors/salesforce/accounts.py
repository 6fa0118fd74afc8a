"""Counting the sandbox org's Accounts, to see what a connector call wrote."""

from connectors.salesforce.connector import SalesforceConnector


def count(connector: SalesforceConnector, soql_where: str) -> int:
    return len(list(connector.query(f"SELECT Id FROM Account {soql_where}")))
