"""How Sage 50 US records a transaction in JrnlHdr/JrnlRow, shared by the seed and the
sandbox backend so history and new writes look the same.

A sales invoice (journal 3) or sales order (journal 11): one JrnlHdr row (MainAmount =
lines + freight, positive) and JrnlRow rows numbered from 1: one per line (RowType 0,
Amount = minus the line amount, a credit to its sales account), a freight row when there
is freight (RowType 2 (u), minus the freight, to the freight income account), and last the
A/R row (RowType 1, plus the total, a debit to Accounts Receivable). The rows of one
transaction sum to zero. A cash receipt (journal 1): the A/R row (RowType 0, minus the
amount, LinkToAnotherTrx = the PostOrder of the invoice it pays) and the cash row
(RowType 1, plus the amount).
"""

import random
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.sage50desktop.schema import TABLES_BY_NAME

Row = dict[str, Any]

CASH_RECEIPTS_JOURNAL = 1
SALES_JOURNAL = 3
SALES_ORDER_JOURNAL = 11
JOURNAL_EX = {CASH_RECEIPTS_JOURNAL: 1, SALES_JOURNAL: 8, SALES_ORDER_JOURNAL: 19}
LINE_ROW, TOTAL_ROW, FREIGHT_ROW = 0, 1, 2

AR_ACCOUNT_ID = "11000"
CASH_ACCOUNT_ID = "10200"
FREIGHT_ACCOUNT_ID = "40600"
STOCK_ITEM_CLASS = 1
SERVICE_ITEM_CLASS = 4

CENT = Decimal("0.01")


def to_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_of(value: Any) -> Decimal:
    """A number read from SQLite (int, float or text) as the Decimal it was written as."""
    return Decimal(str(value if value is not None else 0))


def blank(table: str, **values: Any) -> Row:
    """A full row of `table`: the given values over Sage's blanks."""
    return TABLES_BY_NAME[table].row(**values)


def invoice_number(number: int) -> str:
    return str(number)


def sales_order_number(number: int) -> str:
    return f"SO-{number}"


@dataclass(frozen=True)
class Line:
    """One document line, checked: the item's or account's record numbers resolved."""

    gl_account: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    item_record: int = 0
    taxable: bool = False


@dataclass(frozen=True)
class Accounts:
    """The GLAcntNumber of the accounts every posting needs."""

    receivable: int
    cash: int
    freight: int


def document_rows(
    post_order: int,
    journal: int,
    header: Row,
    lines: list[Line],
    freight: Decimal,
    accounts: Accounts,
) -> tuple[Row, list[Row]]:
    """The JrnlHdr and JrnlRow rows of an invoice or order. `header` holds the JrnlHdr
    columns the document sets (Reference, TransactionDate, CustVendId, ...)."""
    total = sum((line.amount for line in lines), Decimal(0)) + freight
    hdr = blank(
        "JrnlHdr", PostOrder=post_order, JrnlKey_Journal=journal, JournalEx=JOURNAL_EX[journal],
        Module="R", MainAmount=total, AmountPaid=Decimal(0), **header,
    )  # fmt: skip
    common = {
        "PostOrder": post_order,
        "Journal": journal,
        "CustomerRecordNumber": hdr["CustVendId"],
        "RowDate": hdr["TransactionDate"],
    }
    rows = [
        blank(
            "JrnlRow",
            RowNumber=number,
            RowType=LINE_ROW,
            GLAcntNumber=line.gl_account,
            Amount=-line.amount,
            Quantity=line.quantity,
            UnitCost=line.unit_price,
            RowDescription=line.description,
            ItemRecordNumber=line.item_record,
            SalesTaxType=1 if line.taxable else 0,
            **common,
        )
        for number, line in enumerate(lines, start=1)
    ]
    if freight:
        rows.append(
            blank(
                "JrnlRow",
                RowNumber=len(rows) + 1,
                RowType=FREIGHT_ROW,
                GLAcntNumber=accounts.freight,
                Amount=-freight,
                RowDescription="Freight",
                **common,
            )
        )
    rows.append(
        blank(
            "JrnlRow",
            RowNumber=len(rows) + 1,
            RowType=TOTAL_ROW,
            GLAcntNumber=accounts.receivable,
            Amount=total,
            RowDescription="Accounts Receivable",
            **common,
        )
    )
    return hdr, rows


def receipt_rows(
    post_order: int,
    header: Row,
    amount: Decimal,
    invoice: Row,
    accounts: Accounts,
) -> tuple[Row, list[Row]]:
    """The JrnlHdr and JrnlRow rows of a cash receipt paying `amount` of `invoice` (its
    JrnlHdr row). `header` holds Reference (the check number), TransactionDate, PaymentMethod."""
    hdr = blank(
        "JrnlHdr", PostOrder=post_order, JrnlKey_Journal=CASH_RECEIPTS_JOURNAL,
        JournalEx=JOURNAL_EX[CASH_RECEIPTS_JOURNAL], Module="R", MainAmount=amount,
        CustVendId=invoice["CustVendId"], EmpRecordNumber=invoice["EmpRecordNumber"], **header,
    )  # fmt: skip
    common = {
        "PostOrder": post_order,
        "Journal": CASH_RECEIPTS_JOURNAL,
        "CustomerRecordNumber": invoice["CustVendId"],
        "RowDate": hdr["TransactionDate"],
    }
    rows = [
        blank(
            "JrnlRow", RowNumber=1, RowType=LINE_ROW, GLAcntNumber=accounts.receivable,
            Amount=-amount, RowDescription=f"Invoice {invoice['Reference']}",
            LinkToAnotherTrx=invoice["PostOrder"], **common,
        ),
        blank(
            "JrnlRow", RowNumber=2, RowType=TOTAL_ROW, GLAcntNumber=accounts.cash,
            Amount=amount, RowDescription="Cash", **common,
        ),
    ]  # fmt: skip
    return hdr, rows


def new_guid(rng: random.Random | None = None) -> str:
    """A GUID column value; from `rng` (random.Random) when the seed must be repeatable."""
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
