"""A live question to Sage: how much credit has this CRM customer left?

A salesperson asks while talking to the customer, so the answer is read from Sage now (not
from a copy) and must come within a budget: the reads run in a worker thread and whatever is
not back in time is reported as Sage being unreachable. The Sage customer is the one the
won-deal flows bound to the CRM record (`ExternalLink`, entity `customer`).
"""

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from connectors.erp_role import ErpRole
from connectors.errors import ConnectorError, NotFound
from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink

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
    label = pair.erp.system_label
    connector = connector_for(pair.erp)
    future = _readers.submit(in_thread, connector, link.sage_id)
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


def in_thread(connector: ErpRole, ref: str) -> dict:
    """Ask the ERP, then release any database connection the thread opened (token refresh)."""
    try:
        return connector.credit(ref)
    finally:
        connections.close_all()
