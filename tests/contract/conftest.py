"""The role contract's fixtures: every connector of a role, against its live sandbox.

A connector joins the contract with one entry in `CRMS` or `ERPS`: the fixture that makes
its Connection to the sandbox (shared with the flow tests, tests/conftest.py), the settings
that turn on all it can do (every feed), and, for a CRM, where its seed data keeps the
records the tests need. The test bodies know nothing else of a system: what differs between
systems they learn from the connector's own attributes.

Each connector's tests are marked as one xdist group, to run on one worker under
`-n 2 --dist loadgroup` and start its sandbox once; every test gets the sandbox reset to
its seed, so nothing depends on which worker or in which order they run.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.crm_role import CrmRole
from connectors.erp_role import ErpRole
from connectors.services import connector_for
from tests.integration.flows.polling import comments_on
from tests.won_deals import open_usd_opportunity, seeded_box_key

RECORDED = Path(__file__).parent.parent / "integration" / "connectors" / "fixtures"


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery as the system sent it: the body and our URL's query."""

    body: bytes
    params: dict[str, str]


@dataclass(frozen=True)
class CrmSeed:
    """Where a CRM sandbox's seed keeps what the contract reads and writes."""

    won_deal: str  # the key of a deal in the CRM's won stage, in USD
    open_deal: str  # the key of a deal in another stage
    account: str  # the key of the won deal's organization or account
    stage_change: Delivery  # a recorded webhook about a deal that reached the won stage
    notes: Callable[[str], list[str]]  # the notes a person sees on a deal, by its key


def streak_seed(crm: Any) -> CrmSeed:
    won = seeded_box_key("SAL-1002")
    return CrmSeed(
        won_deal=won,
        open_deal=seeded_box_key("SAL-1003"),
        account=crm.get("Box", won)["organizations"][0]["key"],
        stage_change=Delivery(
            (RECORDED / "streak" / "box_change_stage.json").read_bytes(),
            {"event": "BOX_CHANGE_STAGE"},
        ),
        notes=lambda key: comments_on(crm.connection, key),
    )


def salesforce_seed(crm: Any) -> CrmSeed:
    [won] = crm.search("Opportunity", ExternalID__c="CRM-OPP-0004")  # Closed Won, USD
    return CrmSeed(
        won_deal=won["Id"],
        open_deal=open_usd_opportunity(crm)["Id"],
        account=won["AccountId"],
        stage_change=Delivery(
            (RECORDED / "salesforce" / "outbound_opportunity.xml").read_bytes(), {}
        ),
        notes=lambda key: [task["Description"] for task in crm.search("Task", WhatId=key)],
    )


@dataclass(frozen=True)
class Contender:
    """A connector in the contract: the fixture making its connection, its seed, and the
    settings added to the connection's."""

    connection: str
    seed: Callable[[Any], CrmSeed] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def contender(name: str, seed: Callable[[Any], CrmSeed] | None = None, **settings: Any) -> Any:
    return pytest.param(
        Contender(name, seed, settings),
        id=name,
        marks=pytest.mark.xdist_group(f"contract-{name}"),
    )


CRMS = [
    contender("streak", streak_seed),
    contender("salesforce", salesforce_seed, won_deal_sources="both"),  # its Order feed too
]
ERPS = [contender("sage100"), contender("sage50"), contender("sage50desktop")]


def connect(request: pytest.FixtureRequest) -> Any:
    connection = request.getfixturevalue(request.param.connection)
    if request.param.settings:
        connection.settings = {**connection.settings, **request.param.settings}
        connection.save(update_fields=["settings"])
    return connector_for(connection)


@pytest.fixture(params=CRMS)
def crm(request: pytest.FixtureRequest) -> CrmRole:
    return connect(request)


@pytest.fixture
def crm_seed(request: pytest.FixtureRequest, crm: CrmRole) -> CrmSeed:
    return request.node.callspec.params["crm"].seed(crm)


@pytest.fixture(params=ERPS)
def erp(request: pytest.FixtureRequest) -> ErpRole:
    return connect(request)


@pytest.fixture(params=CRMS + ERPS)
def connector(request: pytest.FixtureRequest) -> CrmRole | ErpRole:
    """Any connector, for what both roles share."""
    return connect(request)
