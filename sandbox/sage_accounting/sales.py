"""Sales invoices and customer receipts: totals computed from lines, foreign-currency
amounts converted to base, and payments allocated to invoices (outstanding amount, status).

Functions take the `Books` they work on; `Books` calls them for these two resources.
"""

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.sage_accounting import data
from sandbox.sage_accounting.errors import Problems, invalid
from sandbox.sage_accounting.shapes import (
    fixed_link,
    link,
    money,
    money_text,
    parse_date,
    seed_id,
)

if TYPE_CHECKING:
    from sandbox.sage_accounting.books import Books

LOCKED_ONCE_PAID = ("contact_id", "currency_id", "exchange_rate", "invoice_lines")
STATUS_NAMES = {"UNPAID": "Unpaid", "PART_PAID": "Part Paid", "PAID": "Paid", "VOID": "Void"}


def status_link(status: str) -> dict[str, str]:
    return fixed_link("artefact_statuses", status, STATUS_NAMES[status])


def exchange_rate(books: "Books", problems: Problems, body: dict, currency_id: str) -> Decimal:
    """The body's exchange_rate, else the business rate for that currency (1 for base)."""
    if currency_id == data.BASE_CURRENCY:
        return Decimal("1.0")
    if body.get("exchange_rate") is not None:
        rate = books.number(problems, body, "exchange_rate")
        if rate <= 0:
            problems.add("exchange_rate", "must be greater than 0")
            return Decimal(1)
        return rate
    stored = books.find("exchange_rates", currency_id)
    return Decimal(stored["rate"]) if stored else Decimal(1)


def currency_fields(currency: dict | None, rate: Decimal) -> dict[str, Any]:
    return {
        "currency": link(currency),
        "exchange_rate": str(rate),
        "inverse_exchange_rate": str((1 / rate).quantize(Decimal("0.000001"))),
    }


def to_base(amount: Decimal, rate: Decimal) -> str:
    return money_text(amount / rate)


def build_invoice(
    books: "Books", body: dict, record_id: str, current: dict | None
) -> dict[str, Any]:
    problems = Problems()
    if current and current["status"]["id"] == "VOID":
        raise invalid("", "A void invoice cannot be edited")
    if current and Decimal(current["total_paid"]) > 0:
        saved = books.saved_input("sales_invoices", current["id"])
        for name in LOCKED_ONCE_PAID:
            if body.get(name) != saved.get(name):
                problems.add(name, "cannot be changed once payments are allocated")
    contact = books.linked(problems, "contacts", body, "contact_id", required=True)
    if contact and "CUSTOMER" not in {t["id"] for t in contact["contact_types"]}:
        problems.add("contact_id", "must be a customer")
    invoice_date = due_date = None
    try:
        invoice_date = parse_date(body.get("date"))
    except ValueError:
        problems.add("date", "can't be blank" if not body.get("date") else "is not a valid date")
    if body.get("due_date"):
        try:
            due_date = parse_date(body["due_date"])
        except ValueError:
            problems.add("due_date", "is not a valid date")
    currency_id = body.get("currency_id") or (contact or {}).get("currency", {}).get("id", "USD")
    currency = books.find("currencies", currency_id)
    if currency is None:
        problems.add("currency_id", "is not valid")
    elif contact and contact["currency"]["id"] != currency_id:
        problems.add("currency_id", "must match the contact's currency")
    rate = exchange_rate(books, problems, body, currency_id)
    lines = [
        invoice_line(books, problems, line, f"{record_id}:{index}", index, rate)
        for index, line in enumerate(body.get("invoice_lines") or [])
    ]
    if not isinstance(body.get("invoice_lines"), list) or not lines:
        problems.add("invoice_lines", "can't be blank")
    problems.raise_if_any()
    if due_date is None:
        due_date = invoice_date + timedelta(days=contact["credit_days"])
    net = sum((Decimal(line["net_amount"]) for line in lines), Decimal(0))
    tax = sum((Decimal(line["tax_amount"]) for line in lines), Decimal(0))
    invoice = {
        "contact": link(contact),
        "contact_name": contact["name"],
        "contact_reference": contact["reference"],
        "date": invoice_date.isoformat(),
        "due_date": due_date.isoformat(),
        "reference": body.get("reference"),
        "notes": body.get("notes"),
        "main_address": contact["main_address"],
        **currency_fields(currency, rate),
        "net_amount": money_text(net),
        "tax_amount": money_text(tax),
        "total_amount": money_text(net + tax),
        "base_currency_net_amount": to_base(net, rate),
        "base_currency_tax_amount": to_base(tax, rate),
        "base_currency_total_amount": to_base(net + tax, rate),
        "invoice_lines": lines,
        "payments_allocations": (current or {}).get("payments_allocations", []),
        "void_reason": None,
        "sent": False,
    }
    return settle(invoice)


def invoice_line(
    books: "Books", problems: Problems, line: Any, line_key: str, index: int, rate: Decimal
) -> dict[str, Any]:
    """One computed line; problems name their field as `invoice_lines.<index>.<field>`."""
    prefix = f"invoice_lines.{index}"
    scoped = Problems()
    if not isinstance(line, dict):
        problems.add(prefix, "must be an object")
        return {}
    description = line.get("description")
    if not isinstance(description, str) or not description.strip():
        scoped.add("description", "can't be blank")
    ledger = books.linked(scoped, "ledger_accounts", line, "ledger_account_id", required=True)
    product = books.linked(scoped, "products", line, "product_id")
    tax_rate = books.linked(scoped, "tax_rates", line, "tax_rate_id")
    quantity = books.number(scoped, line, "quantity")
    unit_price = books.number(scoped, line, "unit_price")
    discount = books.number(scoped, line, "discount_amount", 0)
    percentage = Decimal(tax_rate["percentage"]) if tax_rate else Decimal(0)
    if line.get("tax_amount") is None and percentage > 0:
        scoped.add("tax_amount", "can't be blank when the tax rate is not zero")
    tax = books.number(scoped, line, "tax_amount", 0)
    for item in scoped.items:
        problems.add(f"{prefix}.{item['$source']}", item["$message"])
    net = money(quantity * unit_price) - money(discount)
    return {
        "id": seed_id("invoice_line", line_key),
        "displayed_as": description,
        "description": description,
        "product": link(product),
        "ledger_account": link(ledger),
        "quantity": str(quantity),
        "unit_price": str(unit_price),
        "discount_amount": money_text(discount),
        "net_amount": money_text(net),
        "tax_rate": link(tax_rate),
        "tax_amount": money_text(tax),
        "total_amount": money_text(net + tax),
        "base_currency_net_amount": to_base(net, rate),
        "base_currency_tax_amount": to_base(tax, rate),
        "base_currency_total_amount": to_base(net + tax, rate),
        "unit_price_includes_tax": False,
    }


def settle(invoice: dict[str, Any]) -> dict[str, Any]:
    """Recompute paid, outstanding and status from the invoice's payment allocations."""
    paid = sum((Decimal(a["amount"]) for a in invoice["payments_allocations"]), Decimal(0))
    total = Decimal(invoice["total_amount"])
    rate = Decimal(invoice["exchange_rate"])
    status = "PAID" if paid >= total else "PART_PAID" if paid > 0 else "UNPAID"
    dates = [a["date"] for a in invoice["payments_allocations"]]
    return {
        **invoice,
        "total_paid": money_text(paid),
        "outstanding_amount": money_text(total - paid),
        "base_currency_outstanding_amount": to_base(total - paid, rate),
        "status": status_link(status),
        "last_paid": max(dates) if dates else None,
        "editable": paid == 0,
    }


def build_payment(
    books: "Books", body: dict, record_id: str, current: dict | None
) -> dict[str, Any]:
    problems = Problems()
    if body.get("transaction_type_id") != "CUSTOMER_RECEIPT":
        problems.add("transaction_type_id", "is not valid (the sandbox takes CUSTOMER_RECEIPT)")
    contact = books.linked(problems, "contacts", body, "contact_id", required=True)
    bank = books.linked(problems, "bank_accounts", body, "bank_account_id", required=True)
    method_id = body.get("payment_method_id") or "BANK_TRANSFER"
    method = books.find("payment_methods", method_id)
    if method is None:
        problems.add("payment_method_id", "is not valid")
    try:
        payment_date = parse_date(body.get("date")).isoformat()
    except ValueError:
        payment_date = ""
        problems.add("date", "can't be blank" if not body.get("date") else "is not a valid date")
    total = books.number(problems, body, "total_amount")
    if total <= 0:
        problems.add("total_amount", "must be greater than 0")
    currency_id = body.get("currency_id") or (contact or {}).get("currency", {}).get("id", "USD")
    currency = books.find("currencies", currency_id)
    if currency is None:
        problems.add("currency_id", "is not valid")
    rate = exchange_rate(books, problems, body, currency_id)
    allocations = []
    for index, allocation in enumerate(body.get("allocated_artefacts") or []):
        source = f"allocated_artefacts.{index}"
        invoice = books.linked(problems, "sales_invoices", allocation, "artefact_id", True)
        amount = books.number(problems, allocation, "amount")
        if invoice is None:
            continue
        if contact and invoice["contact"]["id"] != contact["id"]:
            problems.add(f"{source}.artefact_id", "belongs to another contact")
        elif invoice["status"]["id"] == "VOID":
            problems.add(f"{source}.artefact_id", "is void")
        elif invoice["currency"]["id"] != currency_id:
            problems.add(f"{source}.artefact_id", "is in another currency")
        elif amount <= 0 or amount > Decimal(invoice["outstanding_amount"]):
            problems.add(f"{source}.amount", "must be between 0 and the outstanding amount")
        allocations.append({"artefact": link(invoice), "amount": money_text(amount)})
    allocated = sum((Decimal(a["amount"]) for a in allocations), Decimal(0))
    if allocated > total:
        problems.add("total_amount", "is less than the amounts allocated")
    problems.raise_if_any()
    on_account = total - allocated
    return {
        "displayed_as": body.get("reference") or "Customer Receipt",
        "transaction_type": fixed_link("transaction_types", "CUSTOMER_RECEIPT", "Customer Receipt"),
        "payment_method": link(method),
        "contact": link(contact),
        "bank_account": link(bank),
        "date": payment_date,
        "reference": body.get("reference"),
        **currency_fields(currency, rate),
        "net_amount": money_text(total),
        "tax_amount": "0.00",
        "total_amount": money_text(total),
        "base_currency_total_amount": to_base(total, rate),
        "allocated_artefacts": [
            {"id": seed_id("allocation", record_id, index), **a}
            for index, a in enumerate(allocations)
        ],
        "payment_on_account": {"total_amount": money_text(on_account)} if on_account else None,
        "editable": False,
    }
