"""factory-boy factories for the product's models."""

import factory

from connectors.models import Connection, IntegrationPair


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"Streak account {n}")
    system = "streak"
    settings = factory.LazyAttribute(lambda c: {"base_url": "http://127.0.0.1:8101"})
    secrets = factory.LazyAttribute(lambda c: {"api_key": "streak-key-for-tests"})


class IntegrationPairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntegrationPair

    name = factory.Sequence(lambda n: f"Pair {n}")
    crm = factory.SubFactory(ConnectionFactory)
    erp = factory.SubFactory(
        ConnectionFactory,
        system="sage100",
        name=factory.Sequence(lambda n: f"Sage 100 company {n}"),
        settings={
            "odbc_connection_string": "DSN=SOTAMAS90",
            "odbc_dialect": "providex",
            "company_code": "ABC",
            "bridge_url": "http://127.0.0.1:8104",
            "default_warehouse": "000",
        },
        secrets={"bridge_key": "bridge-key-for-tests"},
    )
    webhook_token_hash = factory.LazyAttribute(lambda p: "0" * 64)
