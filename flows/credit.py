"""A live question to Sage: how much credit has this CRM customer left?

A salesperson asks while talking to the customer, so the answer is read from Sage now (not
from a copy) and must come within a budget: the reads run in a worker thread and whatever is
not back in time is reported as Sage being unreachable. The Sage customer is the one the
won-deal flows bound to the CRM record (`ExternalLink`, entity `customer`).
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections

from connectors.base import Connector
from connectors.errors import ConnectorError, NotFound
from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink

OPEN_ORDER_STATUSES = ("N", "O", "H")  # new, open, on hold; closed orders move to history
ORDER_TOTAL_PARTS = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt")
_readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="credit")


class UnknownCustomer(Exception):
    """No Sage customer is bound to the CRM record (or Sage no longer has it)."""


class SageUnavailable(Exception):
    """Sage did not answer, or not within the budget."""


def credit_of(pair: IntegrationPair, crm_id: str) -> dict:
    """Credit limit, balance and open orders (or unpaid invoices) of the CRM customer."""
    budget = settings.CLARITY_CREDIT_BUDGET_SECONDS
    link = ExternalLink.objects.filter(pair=pair, entity="customer", crm_id=crm_id).first()
    if link is None:
        raise UnknownCustomer(
            f"No Sage customer is linked to CRM record {crm_id} on {pair.name}: it is linked "
            "when a won deal of that customer first reaches Sage."
        )
    label = pair.erp.get_system_display()
    connector = connector_for(pair.erp)
    read = READERS[pair.erp.system]
    future = _readers.submit(in_thread, read, connector, link.sage_id)
    try:
        answer = future.result(timeout=budget)
    except FutureTimeout:
        raise SageUnavailable(f"{label} is unreachable: no answer within {budget:g} s.") from None
    except NotFound:
        raise UnknownCustomer(
            f"CRM record {crm_id} is linked to {label} customer {link.sage_id}, which "
            f"{label} no longer has."
        ) from None
    except ConnectorError as exc:
        raise SageUnavailable(f"{label} is unreachable: {exc}") from exc
    return {"pair": pair.slug, "crm_id": crm_id, "customer": link.sage_id, **answer}


def in_thread(read: Callable[[Connector, str], dict], connector: Connector, ref: str) -> dict:
    """Run `read`, then release any database connection the thread opened (token refresh)."""
    try:
        return read(connector, ref)
    finally:
        connections.close_all()


def sage100_credit(connector: Any, ref: str) -> dict[str, Any]:
    """AR_Customer's CreditLimit and CurrentBalance, and its open SO_SalesOrderHeader rows."""
    customer = connector.get("customer", ref)
    reader = connector.reader
    sql = reader.dialect.select(
        "SO_SalesOrderHeader",
        columns=["SalesOrderNo", "OrderStatus", "DiscountAmt", *ORDER_TOTAL_PARTS],
        where=["ARDivisionNo = ?", "CustomerNo = ?"],
    )
    orders = [
        row
        for row in reader.rows(sql, [customer["ARDivisionNo"], customer["CustomerNo"]])
        if row["OrderStatus"] in OPEN_ORDER_STATUSES
    ]
    amount = sum(
        (money(sum(money(o[p]) for p in ORDER_TOTAL_PARTS) - money(o["DiscountAmt"]))
         for o in orders),
        Decimal(0),
    )  # fmt: skip
    limit, balance = money(customer["CreditLimit"]), money(customer["CurrentBalance"])
    return {
        "name": customer["CustomerName"],
        "currency": "",  # Sage 100 keeps one currency per company
        "credit_limit": str(limit),
        "balance": str(balance),
        "available": str(limit - balance - amount),
        "open_orders": {"count": len(orders), "amount": str(amount)},
    }


def sage50_credit(connector: Any, ref: str) -> dict[str, Any]:
    """The contact's credit_limit and balance, and its invoices with an amount outstanding."""
    contact = connector.get("contacts", ref)
    unpaid = [
        invoice
        for invoice in connector.search("sales_invoices", contact_id=ref)
        if money(invoice.get("outstanding_amount")) > 0
    ]
    amount = sum((money(invoice["outstanding_amount"]) for invoice in unpaid), Decimal(0))
    limit, balance = money(contact.get("credit_limit")), money(contact.get("balance"))
    return {
        "name": contact.get("name") or contact.get("displayed_as") or ref,
        "currency": (contact.get("currency") or {}).get("id", ""),
        "credit_limit": str(limit),
        "balance": str(balance),
        "available": str(limit - balance),
        "outstanding_invoices": {"count": len(unpaid), "amount": str(amount)},
    }


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


READERS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "sage100": sage100_credit,
    "sage50": sage50_credit,
}
