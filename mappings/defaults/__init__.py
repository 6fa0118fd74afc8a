"""The default mappings and lookup tables a new pair starts with, so it works without edits.

Plain data, no models: `mappings.versions.create_default_mappings` saves them for a pair.
See `base` for the source record shapes the flows hand over.
"""

from mappings.defaults.base import DEFAULT_LOOKUP_TABLES, IN, DefaultMapping
from mappings.defaults.sage50 import sage50_mappings
from mappings.defaults.sage100 import sage100_mappings
from mappings.defaults.salesforce import (
    salesforce_customer,
    salesforce_document,
    salesforce_out,
)
from mappings.defaults.streak import streak_customer, streak_document, streak_out


def crm_in(crm: str, erp: str) -> list[DefaultMapping]:
    """CRM → canonical: the customer, and the document the ERP takes (order or invoice)."""
    document = "SalesOrder" if erp == "sage100" else "Invoice"
    entity = "Box" if crm == "streak" else "Opportunity"
    label = "Streak deal" if crm == "streak" else "Salesforce opportunity"
    customer = streak_customer() if crm == "streak" else salesforce_customer()
    builder = streak_document if crm == "streak" else salesforce_document
    noun = "sales order" if document == "SalesOrder" else "invoice"
    return [
        DefaultMapping(f"{label} → customer", IN, crm, entity, "Customer", customer),
        DefaultMapping(f"{label} → {noun}", IN, crm, entity, document, builder(document)),
    ]


def defaults_for(crm: str, erp: str) -> list[DefaultMapping]:
    """Every default mapping of a CRM + ERP pair: in from the CRM, out to and in from the
    ERP, and back out to the CRM."""
    erp_side = sage100_mappings(crm) if erp == "sage100" else sage50_mappings()
    crm_out = streak_out(erp) if crm == "streak" else salesforce_out(erp)
    return [*crm_in(crm, erp), *erp_side, *crm_out]


__all__ = ["DEFAULT_LOOKUP_TABLES", "IN", "defaults_for"]
