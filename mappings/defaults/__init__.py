"""The default mappings and lookup tables a new pair starts with, so it works without edits.

Plain data, no models: `mappings.versions.create_default_mappings` saves them for a pair.
See `base` for the source record shapes the flows hand over.
"""

from collections.abc import Callable

from mappings.defaults.base import DEFAULT_LOOKUP_TABLES, IN, DefaultMapping
from mappings.defaults.sage50 import sage50_mappings
from mappings.defaults.sage50desktop import sage50desktop_mappings
from mappings.defaults.sage100 import sage100_mappings
from mappings.defaults.salesforce import (
    salesforce_customer,
    salesforce_document,
    salesforce_out,
)
from mappings.defaults.streak import streak_customer, streak_document, streak_out

# Each ERP's own mappings (given the pair's CRM), and the documents it takes.
ERP_MAPPINGS: dict[str, Callable[[str], list[DefaultMapping]]] = {
    "sage100": sage100_mappings,
    "sage50": lambda crm: sage50_mappings(),
    "sage50desktop": lambda crm: sage50desktop_mappings(),
}
DOCUMENT_NOUNS = {"SalesOrder": "sales order", "Invoice": "invoice"}


def documents_of(erp_mappings: list[DefaultMapping]) -> list[str]:
    """The documents (SalesOrder, Invoice) an ERP's mappings write, in that order."""
    written = {mapping.source_entity for mapping in erp_mappings if mapping.direction != IN}
    return [document for document in DOCUMENT_NOUNS if document in written]


def crm_in(crm: str, documents: list[str]) -> list[DefaultMapping]:
    """CRM → canonical: the customer, and each document the ERP takes (order, invoice)."""
    entity = "Box" if crm == "streak" else "Opportunity"
    label = "Streak deal" if crm == "streak" else "Salesforce opportunity"
    customer = streak_customer() if crm == "streak" else salesforce_customer()
    builder = streak_document if crm == "streak" else salesforce_document
    return [
        DefaultMapping(f"{label} → customer", IN, crm, entity, "Customer", customer),
        *(
            DefaultMapping(f"{label} → {DOCUMENT_NOUNS[document]}", IN, crm, entity, document,
                           builder(document))
            for document in documents
        ),
    ]  # fmt: skip


def defaults_for(crm: str, erp: str) -> list[DefaultMapping]:
    """Every default mapping of a CRM + ERP pair: in from the CRM, out to and in from the
    ERP, and back out to the CRM."""
    erp_side = ERP_MAPPINGS[erp](crm)
    documents = documents_of(erp_side)
    crm_out = streak_out(erp) if crm == "streak" else salesforce_out(erp)
    return [*crm_in(crm, documents), *erp_side, *crm_out]


__all__ = ["DEFAULT_LOOKUP_TABLES", "IN", "defaults_for"]
