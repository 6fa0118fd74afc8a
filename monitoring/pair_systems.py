"""What a pair's systems offer its Flows page: the lists the option pickers choose from (the
CRM's deal stages, Sage's warehouses, the CRM account's fields), read through the roles and
kept a minute, and the ways the systems can start each flow (pushed events, a change feed).
A system that does not answer is said, never raised: the page opens all the same.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.core.cache import cache
from django.utils.text import slugify

from connectors.crm_role import CrmRole
from connectors.erp_role import ErpRole
from connectors.errors import ConnectorError
from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEMS
from connectors.services import cached_schema, connector_for
from flows.base import Flow
from flows.models import FlowConfig

logger = logging.getLogger(__name__)

LISTS_KEPT_SECONDS = 60


@dataclass(frozen=True)
class Listing:
    """Values read from a system (value → label), or, when it did not answer, why not."""

    values: dict[str, str] | None
    problem: str = ""


def ask(connection: Connection, what: str, read: Callable[[], dict[str, str]]) -> Listing:
    """`read()`, kept a minute (a page and the save after it ask once), or what the page
    says instead when the system does not answer (not kept: the next page asks again)."""
    changed = int(connection.updated_at.timestamp() * 1_000_000)
    key = f"flow-options-{connection.pk}-{changed}-{slugify(what)}"
    try:
        return Listing(cache.get_or_set(key, read, LISTS_KEPT_SECONDS))
    except ConnectorError as exc:
        return Listing(None, f"{connection.system_label} did not list {what}: {exc.message}")
    except Exception:  # a settings page must open even when a system misbehaves
        logger.exception("Listing %s of connection %s failed", what, connection.pk)
        return Listing(None, f"{connection.system_label} did not list {what} (see the logs)")


class PairSystems:
    """What the pair's CRM and ERP offer the option pickers, each list read once."""

    def __init__(self, pair: IntegrationPair) -> None:
        self.pair = pair
        self.crm_label = pair.crm.system_label
        self.erp_label = pair.erp.system_label
        self.crm_class: type[CrmRole] = SYSTEMS[pair.crm.system].connector_class
        self.erp_class: type[ErpRole] = SYSTEMS[pair.erp.system].connector_class

    @cached_property
    def stages(self) -> Listing:
        def read() -> dict[str, str]:
            crm: CrmRole = connector_for(self.pair.crm)  # type: ignore[assignment]
            return {stage: stage for stage in crm.deal_stages()}

        return ask(self.pair.crm, "its deal stages", read)

    @cached_property
    def warehouses(self) -> Listing:
        def read() -> dict[str, str]:
            erp: ErpRole = connector_for(self.pair.erp)  # type: ignore[assignment]
            listed = erp.warehouses().items()
            return {code: f"{code} · {name}" if name else code for code, name in listed}

        return ask(self.pair.erp, "its warehouses", read)

    @cached_property
    def account_fields(self) -> Listing:
        """The custom fields of the CRM's account: where Sage-owned values can go."""
        entity = self.crm_class.account_entity

        def read() -> dict[str, str]:
            fields, _ = cached_schema(self.pair.crm, entity)
            return {f.name: f"{f.label} ({f.name})" for f in fields if f.custom}

        return ask(self.pair.crm, f"the fields of its {entity}", read)


POLLING = "By checking for changes (polling)"


def trigger_choices(flow: Flow, systems: PairSystems, current: str) -> list[tuple[str, str]]:
    """The ways this pair's systems can start the flow: pushed events of a topic it watches
    (webhook), a change feed of one (polling); a button flow only from its button."""
    if flow.trigger == FlowConfig.Trigger.MANUAL:
        return [(FlowConfig.Trigger.MANUAL, "From its page")]
    sides = {"crm": (systems.crm_class, systems.crm_label),
             "erp": (systems.erp_class, systems.erp_label)}  # fmt: skip
    pushing = sorted(
        {sides[w.side][1] for w in flow.watches if w.topic in sides[w.side][0].event_kinds.values()}
    )
    choices = []
    if pushing:
        verb = "tells" if len(pushing) == 1 else "tell"
        choices.append(
            (FlowConfig.Trigger.WEBHOOK, f"When {' or '.join(pushing)} {verb} us of a change")
        )
    if any(sides[w.side][0].feeds.get(w.topic) for w in flow.watches):
        choices.append((FlowConfig.Trigger.POLL, POLLING))
    if current and current not in dict(choices):
        known = dict(FlowConfig.Trigger.choices).get(current, current)
        choices.append((current, f"{known} (not offered by these systems)"))
    return choices
