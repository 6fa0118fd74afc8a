"""Building blocks of the default mappings, and the lookup tables they use.

One module per system (`streak`, `salesforce`, `sage100`, `sage50`, `sage50desktop`), each
able to move to its connector's `defaults.py`; `create_default_mappings(pair)` (in
`mappings.versions`) only needs `defaults_for(crm, erp)` (in the package) and
`DEFAULT_LOOKUP_TABLES` from here.

Source records, as the flows hand them to the engine:
- Streak Box: the connector's decoded box (`fieldsByName` by field name), plus the flow's
  `organization` (the box's first organization) and `contact` (its first contact).
- Salesforce Opportunity: its fields, `Account` (parent fields), `OpportunityLineItems`
  (child subquery, `{"records": [...]}` or a list) and the flow's `Contact` (the account's
  first contact).
- Sage 100: rows with Sage's column names; the canonical `customer_ref` of a Sage 100
  customer is "ARDivisionNo-CustomerNo" (e.g. "00-HARBORPO").
- Sage Accounting: the API's JSON; `customer_ref` is the contact's id.
"""

from dataclasses import dataclass
from typing import Any

from connectors.sage50.erp import SageAccountingErp
from connectors.sage100.erp import Sage100Erp
from mappings.salespeople import SALESPEOPLE_TABLE
from mappings.salespeople import TABLE_DESCRIPTION as SALESPEOPLE_DESCRIPTION

IN, OUT = "in", "out"


def rule(target: str, source: str | None = None, *transforms: Any, **extra: Any) -> dict:
    """One rule: target ← source, then transforms ("trim" or ("round", {"places": 2}))."""
    made: dict[str, Any] = {"target": target}
    if source is not None:
        made["source"] = source
    steps = []
    for step in transforms:
        name, params = (step, None) if isinstance(step, str) else step
        steps.append({"name": name, "params": params} if params else {"name": name})
    if steps:
        made["transforms"] = steps
    return made | extra


def constant(target: str, value: Any) -> dict:
    return {"target": target, "constant": value}


@dataclass(frozen=True)
class DefaultMapping:
    name: str
    direction: str
    system: str
    source_entity: str
    target_entity: str
    rules: tuple[dict[str, Any], ...]

    @property
    def spec(self) -> dict[str, Any]:
        return {"rules": list(self.rules)}


TERMS_TO_SAGE100 = "Payment terms → Sage 100 terms code"
TERMS_TO_DAYS = "Payment terms → credit days"
GL_TO_LEDGER = SageAccountingErp.ledger_table  # the tables the ERP's flows look codes up in
PRODUCT_TO_SAGE100_ITEM = Sage100Erp.item_table
GL_TO_SAGE50_ACCOUNT = "GL account code → Sage 50 account"  # Sage50DesktopErp.ledger_table
PRODUCT_TO_SAGE50_ITEM = "Product code → Sage 50 item"  # Sage50DesktopErp.item_table
ISO_TO_SAGE100_COUNTRY = {"US": "USA", "CA": "CAN", "MX": "MEX", "GB": "GBR", "IE": "IRL",
                          "DE": "DEU", "FR": "FRA", "NL": "NLD", "BE": "BEL", "AT": "AUT",
                          "CH": "CHE", "ES": "ESP", "IT": "ITA", "SE": "SWE",
                          "DK": "DNK"}  # fmt: skip
SAGE100_STATUS = {"N": "new", "O": "open", "H": "on_hold", "C": "completed", "X": "deleted",
                  "A": "open", "Q": "quote", "Z": "deleted"}  # fmt: skip

DEFAULT_LOOKUP_TABLES: dict[str, list[dict[str, Any]]] = {
    "sage100": [
        {"name": TERMS_TO_SAGE100, "on_miss": "default", "default_value": "01",
         "description": "CRM payment terms to AR_TermsCode (01 = Net 30 Days).",
         "entries": {"Due on receipt": "05", "Net 15": "02", "Net 30": "01", "Net 60": "04",
                     "Cash on delivery": "00", "2% 10 Net 30": "03"}},
        {"name": PRODUCT_TO_SAGE100_ITEM, "on_miss": "pass_through", "default_value": "",
         "description": "CRM product codes Sage 100 knows by another item code; codes not "
                        "listed are used as they are.",
         "entries": {}},
        {"name": SALESPEOPLE_TABLE, "on_miss": "default", "default_value": "",
         "description": SALESPEOPLE_DESCRIPTION, "entries": {}},
    ],
    "sage50": [
        {"name": TERMS_TO_DAYS, "on_miss": "default", "default_value": "30",
         "description": "CRM payment terms to the contact's credit days.",
         "entries": {"Due on receipt": "0", "Net 15": "15", "Net 30": "30", "Net 60": "60"}},
        {"name": GL_TO_LEDGER, "on_miss": "error", "default_value": "",
         "description": "GL account codes (4000) to Sage ledger account ids; fill from "
                        "Sage's ledger accounts.",
         "entries": {}},
    ],
    "sage50desktop": [
        {"name": TERMS_TO_DAYS, "on_miss": "default", "default_value": "30",
         "description": "CRM payment terms to the customer's due days (Terms_DueDays).",
         "entries": {"Due on receipt": "0", "Net 15": "15", "Net 30": "30", "Net 60": "60"}},
        {"name": PRODUCT_TO_SAGE50_ITEM, "on_miss": "pass_through", "default_value": "",
         "description": "CRM product codes Sage 50 knows by another Item ID; codes not "
                        "listed are used as they are.",
         "entries": {}},
        {"name": GL_TO_SAGE50_ACCOUNT, "on_miss": "pass_through", "default_value": "",
         "description": "The deals' GL account codes (4000) to Sage 50 account IDs (40000); "
                        "a code not listed is looked up in the chart of accounts as it is.",
         "entries": {"4000": "40000", "4100": "40200"}},
        {"name": SALESPEOPLE_TABLE, "on_miss": "default", "default_value": "",
         "description": SALESPEOPLE_DESCRIPTION, "entries": {}},
    ],
}  # fmt: skip

PHONE = ("phone", {"default_region": "US"})
ADDRESS = ("parse_address", {"default_country": "US"})
