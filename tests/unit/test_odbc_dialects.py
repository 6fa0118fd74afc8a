"""The SQL text each ODBC dialect writes: what Pervasive (Sage 50 US), ProvideX and SQL
Server (Sage 100) and SQLite (the sandboxes) each take, and names refused before they
reach any driver."""

from datetime import date

import pytest

from connectors.odbc.dialects import DIALECTS, Join

PERVASIVE, PROVIDEX, MSSQL, SQLITE = (DIALECTS[n] for n in ("pervasive", "providex", "mssql",
                                                            "sqlite"))  # fmt: skip
ADDRESS = Join("Address", "a", "a.CustomerRecordNumber = c.CustomerRecordNumber "
               "AND a.AddressTypeNumber = 0")  # fmt: skip
REP = Join("Employee", "e", "e.EmpRecordNumber = c.EmpRecordNumber")


def test_pervasive_limits_with_top_and_escapes_dates_and_upper_case():
    sql = PERVASIVE.select(
        "JrnlHdr",
        columns=["PostOrder", "Reference"],
        where=[f"TransactionDate >= {PERVASIVE.date_literal(date(2026, 3, 1))}",
               f"{PERVASIVE.upper('Reference')} = ?"],
        order_by=["PostOrder"],
        limit=5,
    )  # fmt: skip

    assert sql == (
        "SELECT TOP 5 PostOrder, Reference FROM JrnlHdr WHERE TransactionDate >= "
        "{d '2026-03-01'} AND {fn UCASE(Reference)} = ? ORDER BY PostOrder"
    )


def test_pervasive_writes_left_joins_inside_one_outer_join_escape():
    sql = PERVASIVE.select(
        "Customers",
        columns=["c.*", "a.City", "e.EmployeeID AS SalesRepID"],
        where=[f"{PERVASIVE.upper('c.CustomerID')} = ?"],
        alias="c",
        joins=[ADDRESS, REP],
    )

    assert sql == (
        "SELECT c.*, a.City, e.EmployeeID AS SalesRepID FROM {oj Customers c "
        "LEFT OUTER JOIN Address a ON a.CustomerRecordNumber = c.CustomerRecordNumber AND "
        "a.AddressTypeNumber = 0 LEFT OUTER JOIN Employee e ON e.EmpRecordNumber = "
        "c.EmpRecordNumber} WHERE {fn UCASE(c.CustomerID)} = ?"
    )


def test_sqlite_writes_the_same_joins_plainly_and_limits_at_the_end():
    sql = SQLITE.select(
        "Customers",
        columns=["c.*", "a.City"],
        where=[f"c.CustomerSince >= {SQLITE.date_literal(date(2026, 1, 2))}"],
        order_by=["c.CustomerID"],
        limit=3,
        alias="c",
        joins=[ADDRESS],
    )

    assert sql == (
        "SELECT c.*, a.City FROM Customers c LEFT OUTER JOIN Address a ON "
        "a.CustomerRecordNumber = c.CustomerRecordNumber AND a.AddressTypeNumber = 0 "
        "WHERE c.CustomerSince >= '2026-01-02' ORDER BY c.CustomerID LIMIT 3"
    )


def test_sage100_dialects_keep_their_sql():
    assert PROVIDEX.select("AR_Customer", where=["CustomerNo = ?"], limit=1) == (
        "SELECT TOP 1 * FROM AR_Customer WHERE CustomerNo = ?"
    )
    assert PROVIDEX.upper("EmailAddress") == "{fn UCASE(EmailAddress)}"
    assert MSSQL.upper("EmailAddress") == "UPPER(EmailAddress)"
    assert MSSQL.date_literal(date(2026, 1, 2)) == "{d '2026-01-02'}"
    assert MSSQL.tables("SO_SalesOrderHeader", "h", [Join("AR_Customer", "c", "c.X = h.X")]) == (
        "SO_SalesOrderHeader h LEFT OUTER JOIN AR_Customer c ON c.X = h.X"
    )
    assert PROVIDEX.tables("A", "a", [Join("B", "b", "b.K = a.K")]) == (
        "{oj A a LEFT OUTER JOIN B b ON b.K = a.K}"
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda d: d.select("Customers; DROP TABLE Customers"),
        lambda d: d.select("Customers", columns=["CustomerID, (SELECT 1)"]),
        lambda d: d.select("Customers", order_by=["CustomerID DESC; --"]),
        lambda d: d.upper("eMail_Address) OR 1=1 OR UPPER(x"),
        lambda d: d.tables("Customers", "c d"),
        lambda d: d.date_literal("2026-01-01' OR '1'='1"),
    ],
)
def test_anything_but_a_plain_name_or_a_date_is_refused_before_it_reaches_the_text(build):
    for dialect in DIALECTS.values():
        with pytest.raises((ValueError, TypeError)):
            build(dialect)
