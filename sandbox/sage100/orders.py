"""Seed sales documents: open orders (new, open, on hold, back orders), completed orders in
history with their invoices, open invoice balances and the cash receipts that paid the rest.
Customer balances and the items' quantities on sales/back order are derived from them.
"""

import random
from datetime import timedelta
from decimal import Decimal

from sandbox.sage100.data import SEED_DATE, TERMS, Row, audit, moment_on, row
from sandbox.sage100.rules import (
    line_extension,
    line_key,
    line_seq_no,
    order_number,
    order_total,
    order_totals,
)

FIRST_ORDER_NO = 101
FIRST_INVOICE_NO = 100001
HISTORY_ORDER_COUNT = 70
OPEN_ORDER_COUNT = 45
DAYS_DUE = {code: days for code, _, days, _, _ in TERMS}


def bill_and_ship_to(customer: Row) -> Row:
    values: Row = {}
    for prefix in ("BillTo", "ShipTo"):
        values[f"{prefix}Name"] = customer["CustomerName"]
        values[f"{prefix}Address1"] = customer["AddressLine1"]
        for part in ("City", "State", "ZipCode", "CountryCode"):
            values[f"{prefix}{part}"] = customer[part]
    return values


def _order(
    rng: random.Random,
    number: int,
    customer: Row,
    items: list[Row],
    stock: set[tuple],
    days_ago: int,
) -> tuple[Row, list[Row]]:
    """One sales order of 1-5 lines at list price, open; the caller sets its final state."""
    order_date = SEED_DATE - timedelta(days=days_ago)
    created = moment_on(order_date, rng)
    warehouse = "000" if customer["ARDivisionNo"] == "00" or rng.random() < 0.5 else "001"
    lines = []
    for index, item in enumerate(rng.sample(items, rng.randint(1, 5)), start=1):
        is_charge = item["ItemType"] == "3"
        if not is_charge and (item["ItemCode"], warehouse) not in stock:
            continue
        quantity = Decimal(rng.randint(1, 8) if is_charge else rng.choice([1, 2, 5, 10, 12, 25]))
        price = Decimal(str(item["StandardUnitPrice"]))
        discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
        lines.append(row(
            "SO_SalesOrderDetail", SalesOrderNo=order_number(number), LineKey=line_key(index),
            LineSeqNo=line_seq_no(index), ItemCode=item["ItemCode"], ItemType=item["ItemType"],
            ItemCodeDesc=item["ItemCodeDesc"], WarehouseCode=warehouse,
            UnitOfMeasure=item["SalesUnitOfMeasure"], SalesAcctKey=item["SalesAcctKey"],
            CostOfGoodsSoldAcctKey=item["CostOfGoodsSoldAcctKey"], QuantityOrdered=float(quantity),
            UnitPrice=float(price), UnitCost=item["StandardUnitCost"],
            ExtensionAmt=float(line_extension(quantity, price, discount)),
            LineDiscountPercent=float(discount), TaxClass=item["TaxClass"],
            PromiseDate=order_date + timedelta(days=14),
        ))  # fmt: skip
    totals = order_totals(lines, customer["TaxSchedule"])
    header = row(
        "SO_SalesOrderHeader", SalesOrderNo=order_number(number), OrderDate=order_date,
        OrderType="S", OrderStatus="O", ShipExpireDate=order_date + timedelta(days=7),
        ARDivisionNo=customer["ARDivisionNo"], CustomerNo=customer["CustomerNo"],
        **bill_and_ship_to(customer), ShipVia=customer["ShipMethod"],
        CustomerPONo=f"PO-{rng.randint(10000, 99999)}", WarehouseCode=warehouse,
        TermsCode=customer["TermsCode"], TaxSchedule=customer["TaxSchedule"],
        SalespersonNo=customer["SalespersonNo"], EmailAddress=customer["EmailAddress"],
        FreightAmt=float(rng.choice([0, 0, 15, 25, 45])),
        **{name: float(amount) for name, amount in totals.items()}, **audit(created),
    )  # fmt: skip
    return header, lines


def order_rows(
    rng: random.Random, customers: list[Row], items: list[Row], stock: list[Row]
) -> dict[str, list[Row]]:
    active_customers = [c for c in customers if c["CustomerStatus"] == "A"]
    sellable = [i for i in items if i["InactiveItem"] == "N"]
    stock_keys = {(s["ItemCode"], s["WarehouseCode"]) for s in stock}
    tables: dict[str, list[Row]] = {
        name: []
        for name in (
            "SO_SalesOrderHeader", "SO_SalesOrderDetail", "SO_SalesOrderHistoryHeader",
            "SO_SalesOrderHistoryDetail", "AR_InvoiceHistoryHeader", "AR_OpenInvoice",
            "AR_CashReceiptsHistory",
        )
    }  # fmt: skip
    number, invoice_number, deposit = FIRST_ORDER_NO, FIRST_INVOICE_NO, 1
    for days_ago in sorted(
        (rng.randint(20, 400) for _ in range(HISTORY_ORDER_COUNT)), reverse=True
    ):
        customer = rng.choice(active_customers)
        header, lines = _order(rng, number, customer, sellable, stock_keys, days_ago)
        number += 1
        if not lines:
            continue
        header["OrderStatus"] = "C"
        for line in lines:
            line["QuantityShipped"] = line["QuantityOrdered"]
        tables["SO_SalesOrderHistoryHeader"].append(header)
        tables["SO_SalesOrderHistoryDetail"].extend(lines)
        invoice = _invoice(rng, order_number(invoice_number), header, customer)
        invoice_number += 1
        tables["AR_InvoiceHistoryHeader"].append(invoice)
        paid = _payment(rng, invoice)
        total = float(order_total(header))
        tables["AR_OpenInvoice"].append(row(
            "AR_OpenInvoice", ARDivisionNo=invoice["ARDivisionNo"],
            CustomerNo=invoice["CustomerNo"], InvoiceNo=invoice["InvoiceNo"], InvoiceType="IN",
            InvoiceDate=invoice["InvoiceDate"], InvoiceDueDate=invoice["InvoiceDueDate"],
            InvoiceAmt=total, Balance=round(total - paid, 2),
            **audit(moment_on(invoice["InvoiceDate"], rng)),
        ))  # fmt: skip
        if paid:
            tables["AR_CashReceiptsHistory"].append(
                _receipt(rng, deposit, invoice, paid, round(total - paid, 2))
            )
            deposit += 1
    for days_ago in sorted((rng.randint(0, 30) for _ in range(OPEN_ORDER_COUNT)), reverse=True):
        customer = rng.choice(active_customers)
        header, lines = _order(rng, number, customer, sellable, stock_keys, days_ago)
        number += 1
        if not lines:
            continue
        header["OrderStatus"] = rng.choice(["N", "O", "O", "O", "H"])
        if rng.random() < 0.2:
            header["OrderType"] = "B"
            lines[0]["QuantityBackordered"] = lines[0]["QuantityOrdered"]
        tables["SO_SalesOrderHeader"].append(header)
        tables["SO_SalesOrderDetail"].extend(lines)
    tables["SO_Options"] = [
        row("SO_Options", SOOptionsKey="1", NextSalesOrderNo=order_number(number),
            NextInvoiceNo=order_number(invoice_number))
    ]  # fmt: skip
    _apply_to_customers(customers, tables)
    _apply_to_stock(stock, tables["SO_SalesOrderDetail"])
    return tables


def _invoice(rng: random.Random, invoice_no: str, order: Row, customer: Row) -> Row:
    invoice_date = order["OrderDate"] + timedelta(days=rng.randint(1, 6))
    copied = {name: order[name] for name in order if name.startswith(("BillTo", "ShipTo"))}
    copied.pop("ShipToCode")
    return row(
        "AR_InvoiceHistoryHeader", InvoiceNo=invoice_no, HeaderSeqNo="000000", InvoiceType="IN",
        ModuleCode="S/O", InvoiceDate=invoice_date,
        InvoiceDueDate=invoice_date + timedelta(days=DAYS_DUE[customer["TermsCode"]]),
        ARDivisionNo=order["ARDivisionNo"], CustomerNo=order["CustomerNo"],
        SalesOrderNo=order["SalesOrderNo"], CustomerPONo=order["CustomerPONo"], **copied,
        TermsCode=order["TermsCode"], TaxableSalesAmt=order["TaxableAmt"],
        NonTaxableSalesAmt=order["NonTaxableAmt"], SalesTaxAmt=order["SalesTaxAmt"],
        FreightAmt=order["FreightAmt"], **audit(moment_on(invoice_date, rng)),
    )  # fmt: skip


def _payment(rng: random.Random, invoice: Row) -> float:
    """How much of an invoice was paid by SEED_DATE: old ones mostly in full, recent rarely."""
    total = float(order_total({
        "TaxableAmt": invoice["TaxableSalesAmt"], "NonTaxableAmt": invoice["NonTaxableSalesAmt"],
        "SalesTaxAmt": invoice["SalesTaxAmt"], "FreightAmt": invoice["FreightAmt"],
        "DiscountAmt": invoice["DiscountAmt"],
    }))  # fmt: skip
    age = (SEED_DATE - invoice["InvoiceDate"]).days
    chance = rng.random()
    if (age > 90 and chance < 0.8) or (age > 45 and chance < 0.4):
        return total
    if chance > 0.85:
        return round(total / 2, 2)
    return 0.0


def _receipt(rng: random.Random, deposit: int, invoice: Row, amount: float, balance: float) -> Row:
    paid_on = min(invoice["InvoiceDueDate"], SEED_DATE - timedelta(days=1))
    return row(
        "AR_CashReceiptsHistory", BankCode="A", DepositDate=paid_on, DepositNo=f"{deposit:05d}",
        DepositType="C", ARDivisionNo=invoice["ARDivisionNo"], CustomerNo=invoice["CustomerNo"],
        CreditCardEntryNo="000000", CheckNo=str(rng.randint(1000, 99999)), SequenceNo="000001",
        PostingDate=paid_on, TransactionType="P", InvoiceNo=invoice["InvoiceNo"],
        InvoiceType="IN", AccountKey="000000001", CashAmountApplied=amount,
        InvoiceBalance=balance, PaymentType="CHECK", **audit(moment_on(paid_on, rng)),
    )  # fmt: skip


def _apply_to_customers(customers: list[Row], tables: dict[str, list[Row]]) -> None:
    """Balances and aging from open invoices; OpenOrderAmt from open orders."""
    by_key = {(c["ARDivisionNo"], c["CustomerNo"]): c for c in customers}
    for invoice in tables["AR_OpenInvoice"]:
        customer = by_key[(invoice["ARDivisionNo"], invoice["CustomerNo"])]
        balance = invoice["Balance"]
        customer["CurrentBalance"] = round(customer["CurrentBalance"] + balance, 2)
        days_late = (SEED_DATE - invoice["InvoiceDueDate"]).days
        if balance and days_late > 0:
            bucket = f"AgingCategory{min(4, (days_late - 1) // 30 + 1)}"
            customer[bucket] = round(customer[bucket] + balance, 2)
    for order in tables["SO_SalesOrderHeader"]:
        customer = by_key[(order["ARDivisionNo"], order["CustomerNo"])]
        customer["OpenOrderAmt"] = round(customer["OpenOrderAmt"] + float(order_total(order)), 2)


def _apply_to_stock(stock: list[Row], open_lines: list[Row]) -> None:
    by_key = {(s["ItemCode"], s["WarehouseCode"]): s for s in stock}
    for line in open_lines:
        entry = by_key.get((line["ItemCode"], line["WarehouseCode"]))
        if entry is not None:
            entry["QuantityOnSalesOrder"] += line["QuantityOrdered"]
            entry["QuantityOnBackOrder"] += line["QuantityBackordered"]
