"""Salesforce opportunities as the stock index reads them: the products their line items ask
for, and the summary in the Opportunity field Sage_Stock__c.

An opportunity's line items change without always moving the opportunity's own stamp, so
the deals changed since a moment are those whose opportunity or any of whose line items
changed since then (two small queries), read with all their lines. A closed opportunity
(IsClosed, or a stage the flow's option names) is not open.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from connectors.base import Record, parse_moment
from connectors.records import DealStock
from connectors.salesforce.soql import soql_datetime, soql_literal

STOCK_FIELD = "Sage_Stock__c"
OPPORTUNITY_COLUMNS = f"Id, StageName, IsClosed, SystemModstamp, {STOCK_FIELD}"
LINE_COLUMNS = "OpportunityId, ProductCode, Quantity, SystemModstamp"
IDS_PER_QUERY = 200  # keeps a query's WHERE … IN (…) well under SOQL's length limit


def chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


def id_list(ids: list[str]) -> str:
    return ", ".join(soql_literal(key, "id") for key in ids)


def deal_stock(opportunity: Record, lines: list[Record], closed_stages: set[str]) -> DealStock:
    asked: dict[str, Decimal] = {}
    stamps = [parse_moment(opportunity["SystemModstamp"])]
    for line in lines:
        stamps.append(parse_moment(line["SystemModstamp"]))
        code = str(line.get("ProductCode") or "").strip().upper()
        if code:
            asked[code] = asked.get(code, Decimal(0)) + Decimal(str(line.get("Quantity") or 0))
    return DealStock(
        key=opportunity["Id"],
        changed=max(stamps),
        open=not opportunity.get("IsClosed") and opportunity.get("StageName") not in closed_stages,
        lines=asked,
        shown=str(opportunity.get(STOCK_FIELD) or ""),
    )


class SalesforceStock:
    """The stock index's reads, mixed into the Salesforce CRM role."""

    stock_field = STOCK_FIELD

    def shows_stock(self) -> bool:
        """Whether the org's Opportunity has the field (a custom field an admin adds)."""
        return STOCK_FIELD.lower() in self.fields("Opportunity")  # type: ignore[attr-defined]

    def deals_changed(self, since: datetime | None, closed_stages: set[str]) -> list[DealStock]:
        """Opportunities whose record or line items changed at or after `since`, or every
        opportunity the first time."""
        query = self.query  # type: ignore[attr-defined]
        if since is None:
            opportunities = list(query(f"SELECT {OPPORTUNITY_COLUMNS} FROM Opportunity"))
        else:
            after = f"SystemModstamp >= {soql_datetime(since)}"
            keys = {row["Id"] for row in query(f"SELECT Id FROM Opportunity WHERE {after}")}
            keys |= {
                row["OpportunityId"]
                for row in query(f"SELECT OpportunityId FROM OpportunityLineItem WHERE {after}")
            }
            opportunities = [
                row
                for part in chunks(sorted(keys))
                for row in query(
                    f"SELECT {OPPORTUNITY_COLUMNS} FROM Opportunity WHERE Id IN ({id_list(part)})"
                )
            ]
        lines: dict[str, list[Record]] = {}
        for part in chunks([row["Id"] for row in opportunities]):
            soql = f"SELECT {LINE_COLUMNS} FROM OpportunityLineItem"
            for line in query(f"{soql} WHERE OpportunityId IN ({id_list(part)})"):
                lines.setdefault(line["OpportunityId"], []).append(line)
        return [deal_stock(row, lines.get(row["Id"], []), closed_stages) for row in opportunities]
