"""What the webhook security tests share: a Streak box as a delivery carries it, an Outbound
Message, and pairs with their URL token (tests/factories.py builds them, no sandbox needed
when nothing runs)."""

import json

from connectors.models import Connection, IntegrationPair
from flows.models import FlowConfig
from sandbox.salesforce.schema import ORG_ID
from tests.factories import ConnectionFactory, IntegrationPairFactory

BOX = {"key": "b1", "stageKey": "5004", "fields": {}, "pipelineKey": "p1",
       "lastUpdatedTimestamp": 1}  # fmt: skip
STAGE_CHANGE = json.dumps([BOX]).encode()
OTHER_ORG = "00DAA0000000001MAA"


def outbound_message(
    org_id: str = ORG_ID,
    record_id: str = "006Dn0000000001IAA",
    notification_id: str = "04lDn0000000001IAA",
    fields: str = "",
) -> bytes:
    """An Outbound Message about one Closed Won opportunity, as Salesforce sends it."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId><ActionId>04kDn0000000ClXIAU</ActionId>"
        f"<Notification><Id>{notification_id}</Id>"
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{record_id}</sf:Id><sf:StageName>Closed Won</sf:StageName>{fields}"
        "</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def streak_pair(name: str = "Acme deals", **settings) -> tuple[IntegrationPair, str]:
    """A Streak pair with its won-deal flow on (its runs never execute here)."""
    pair = IntegrationPairFactory(name=name)
    pair.crm.settings = {**pair.crm.settings, **settings}
    pair.crm.save()
    token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(enabled=True)
    return pair, token


def salesforce_pair(name: str = "Acme Salesforce", **settings) -> tuple[IntegrationPair, str]:
    crm: Connection = ConnectionFactory(
        name=f"{name} CRM", system="salesforce", settings=settings, secrets={}
    )
    pair = IntegrationPairFactory(name=name, crm=crm)
    token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(enabled=True)
    return pair, token
