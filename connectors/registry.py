"""The systems Clarity Connect joins, and which side of a pair each can be."""

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.forms import ConnectionForm

CRM = "crm"
ERP = "erp"


@dataclass(frozen=True)
class System:
    key: str
    label: str
    side: str  # CRM or ERP
    description: str
    class_name: str  # the connector class in `connectors.<key>.connector`
    choice_label: str = ""  # how the connection form offers it, when more than the label

    @property
    def form_class(self) -> "type[ConnectionForm]":
        """The system's connection form: its settings and its write-only secrets."""
        return import_module(f"connectors.{self.key}.forms").ConnectionSettingsForm

    @property
    def connector_class(self) -> "type[Connector]":
        """The system's connector class, named after it (`StreakConnector`, …)."""
        return getattr(import_module(f"connectors.{self.key}.connector"), self.class_name)


SYSTEMS: dict[str, System] = {
    system.key: system
    for system in (
        System(
            "streak",
            "Streak",
            CRM,
            "CRM in Gmail: pipelines of boxes, webhooks.",
            "StreakConnector",
        ),
        System(
            "salesforce",
            "Salesforce",
            CRM,
            "Opportunities, accounts and products.",
            "SalesforceConnector",
        ),
        System(
            "sage100",
            "Sage 100",
            ERP,
            "ERP: reads over ODBC, writes through the bridge.",
            "Sage100Connector",
        ),
        System(
            "sage50",
            "Sage Accounting",
            ERP,
            "Cloud accounting: Sage Accounting API v3.1 (also sold as Sage 50 cloud).",
            "SageAccountingConnector",
            "Sage Accounting (cloud, also sold as Sage 50 cloud)",
        ),
        System(
            "sage50desktop",
            "Sage 50 (US desktop)",
            ERP,
            "Desktop Sage 50 US (Peachtree): reads over ODBC, writes through the Clarity agent.",
            "Sage50DesktopConnector",
        ),
    )
}
SYSTEM_CHOICES = [(s.key, s.choice_label or s.label) for s in SYSTEMS.values()]


def systems_on(side: str) -> list[System]:
    return [s for s in SYSTEMS.values() if s.side == side]


def pair_combinations() -> list[str]:
    """Every CRM → ERP combination a pair can join, for messages and docs."""
    return [f"{crm.label} → {erp.label}" for crm in systems_on(CRM) for erp in systems_on(ERP)]


@cache
def event_topics() -> dict[str, tuple[System, str]]:
    """Every event kind a connector pushes or polls → the system and the topic it is about."""
    topics: dict[str, tuple[System, str]] = {}
    for system in SYSTEMS.values():
        connector = system.connector_class
        for kind, topic in connector.event_kinds.items():
            topics[kind] = (system, topic)
        for topic, feeds in connector.feeds.items():
            topics |= {feed.kind: (system, topic) for feed in feeds}
    return topics


def event_topic(kind: str) -> tuple[System, str] | None:
    """Which system an event of `kind` came from and what it is about; None if unknown."""
    return event_topics().get(kind)


def sent_about(kind: str, topic: str) -> "type[Connector] | None":
    """The connector class of the system an event of `kind` came from, when the event is
    about `topic`; None otherwise."""
    source = event_topic(kind)
    return source[0].connector_class if source and source[1] == topic else None
