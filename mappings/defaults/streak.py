"""Streak defaults: box (+ organization, contact) → Customer and SalesOrder/Invoice;
order status and payments back to the box."""

from mappings.defaults.base import ADDRESS, OUT, PHONE, DefaultMapping, constant, rule


def streak_customer() -> tuple[dict, ...]:
    return (
        rule("name", "organization.name", "trim", required=True),
        rule("email", "contact.emailAddresses[0]", "trim", "lower"),
        rule("phone", "organization.phoneNumbers[0]", PHONE),
        rule("billing_address", "organization.addresses[0]", ADDRESS),
        rule("shipping_address", "organization.addresses[0]", ADDRESS),
        rule("contacts", "contact", rules=[
            rule("name", "givenName", ("concat", {"fields": ["familyName"]})),
            rule("email", "emailAddresses[0]", "trim", "lower"),
            rule("phone", "phoneNumbers[0]", PHONE),
            rule("title", "title", "trim"),
        ]),
        rule("currency", "fieldsByName.Currency", "trim", "upper"),
        rule("terms", "fieldsByName.Payment Terms", "trim"),
        rule("external_refs.crm", "organization.key"),
        rule("custom.industry", "organization.industry"),
    )  # fmt: skip


def streak_document(document: str) -> tuple[dict, ...]:
    """Streak box → SalesOrder or Invoice: Products lines parsed, amounts converted."""
    date_target = "order_date" if document == "SalesOrder" else "invoice_date"
    currency = {"currency": "fieldsByName.Currency"}
    rules = [
        rule("customer_name", "organization.name", "trim"),
        rule("customer_email", "contact.emailAddresses[0]", "trim", "lower"),
        rule("crm_deal_id", "fieldsByName.Deal ID", "trim"),
        rule("external_refs.crm", "key"),
        rule(date_target, "lastStageChangeTimestamp", "date"),
        rule("currency", "fieldsByName.Currency", "trim", "upper"),
        rule("terms", "fieldsByName.Payment Terms", "trim"),
        rule("gl_account", "fieldsByName.GL Account Code", "trim"),
        rule("total", "fieldsByName.Amount", ("number", {"places": 2})),
        rule("total_base", "fieldsByName.Amount", "number", ("convert_currency", currency)),
        rule("notes", "name", "trim"),
        rule("custom.owner", "assignedToSharingEntries[0].email", "trim", "lower"),
        rule("billing_address", "organization.addresses[0]", ADDRESS),
        rule("lines", "fieldsByName.Products", "parse_lines", rules=[
            rule("sku", "sku", "trim", "upper"),
            rule("description", "description", "trim"),
            rule("quantity", "quantity", "number"),
            rule("unit_price", "unit_price", "number"),
            rule("amount", "amount", ("round", {"places": 2})),
            rule("gl_account", "$.fieldsByName.GL Account Code", "trim"),
        ]),
    ]  # fmt: skip
    if document == "SalesOrder":
        rules += [
            rule("ship_date", "fieldsByName.Expected Close Date", "date"),
            rule("shipping_address", "organization.addresses[0]", ADDRESS),
            constant("status", "open"),
        ]
    return tuple(rules)


def streak_out(erp: str) -> list[DefaultMapping]:
    """Sage 100 reports order status; the others send the invoice number back."""
    label = {"sage100": "Sage 100", "sage50desktop": "Sage 50"}.get(erp, "Sage")
    if erp == "sage100":
        back = DefaultMapping(
            "Sage 100 order status → Streak deal",
            OUT,
            "streak",
            "OrderStatus",
            "Box",
            (rule("Sage Order No", "order_number"), rule("Sage Invoice ID", "invoice_number")),
        )
    else:
        back = DefaultMapping(
            "Sage invoice → Streak deal",
            OUT,
            "streak",
            "Invoice",
            "Box",
            (rule("Sage Invoice ID", "number"),),
        )
    message = (
        "Payment of {amount} {currency} received on {payment_date} (ref {reference}) "
        "for invoice {invoice_number}."
    )
    return [
        back,
        DefaultMapping(f"{label} payment → Streak comment", OUT, "streak", "Payment", "Comment",
                       ({"target": "message", "template": message},)),
    ]  # fmt: skip
