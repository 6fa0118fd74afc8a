"""The flow templates, one module each; a flow is listed here to exist (`flows.apps`
registers them into `flows.registry` when the app is ready)."""

from flows.base import Flow
from flows.usecases.contact_sync import contact_sync
from flows.usecases.customer_sync import customer_sync
from flows.usecases.deal_stage_to_order_status import deal_stage_to_order_status
from flows.usecases.deal_won_to_invoice import deal_won_to_invoice
from flows.usecases.deal_won_to_sales_order import deal_won_to_sales_order
from flows.usecases.initial_load import initial_load
from flows.usecases.inventory_to_crm import inventory_to_crm
from flows.usecases.order_status_to_crm import order_status_to_crm
from flows.usecases.payments_to_crm import payments_to_crm
from flows.usecases.prices_to_crm import prices_to_crm
from flows.usecases.sage_order_to_deal import sage_order_to_deal

ALL_FLOWS: list[Flow] = [
    deal_won_to_sales_order,
    deal_won_to_invoice,
    order_status_to_crm,
    sage_order_to_deal,
    deal_stage_to_order_status,
    inventory_to_crm,
    prices_to_crm,
    payments_to_crm,
    initial_load,
    customer_sync,
    contact_sync,
]
