"""The systems Clarity Connect joins, and which side of a pair each can be."""

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.errors import ConnectorError
    from connectors.forms import ConnectionForm

CRM = "crm"
ERP = "erp"


@dataclass(frozen=True)
class System:
    key: str
    label: str
    side: str  # CRM or ERP
    description: str
    aliases: tuple[str, ...] = ()  # other names its errors use (`ConnectorError.system`)

    def raised(self, error: "ConnectorError") -> bool:
        """Whether this system's connector raised the error."""
        return error.system in (self.label, *self.aliases)

    @property
    def form_class(self) -> "type[ConnectionForm]":
        """The system's connection form: its settings and its write-only secrets."""
        return import_module(f"connectors.{self.key}.forms").ConnectionSettingsForm

    @property
    def connector_class(self) -> "type[Connector]":
        """The system's connector: `connectors.<key>.connector.SystemConnector`."""
        return import_module(f"connectors.{self.key}.connector").SystemConnector


SYSTEMS: dict[str, System] = {
    system.key: system
    for system in (
        System("streak", "Streak", CRM, "CRM in Gmail: pipelines of boxes, webhooks."),
        System("salesforce", "Salesforce", CRM, "Opportunities, accounts and products."),
        System(
            "sage100",
            "Sage 100",
            ERP,
            "ERP: reads over ODBC, writes through the bridge.",
            aliases=("Sage 100 bridge",),
        ),
        System(
            "sage50",
            "Sage 50",
            ERP,
            "Sage Accounting API v3.1 (Sage 50 cloud).",
            aliases=("Sage Accounting",),
        ),
    )
}
SYSTEM_CHOICES = [(s.key, s.label) for s in SYSTEMS.values()]


def systems_on(side: str) -> list[System]:
    return [s for s in SYSTEMS.values() if s.side == side]


def pair_combinations() -> list[str]:
    """Every CRM → ERP combination a pair can join, for messages and docs."""
    return [f"{crm.label} → {erp.label}" for crm in systems_on(CRM) for erp in systems_on(ERP)]
