"""Sage 50 US's sales reps: the `Employee` rows marked IsSalesRep, read over ODBC and keyed
by EmployeeID, the ID a sales invoice or order names its sales rep by (the SDK's
SalesRepresentativeReference; JrnlHdr keeps it as EmpRecordNumber). Inactive employees are
not sales reps Sage lets a document name, so only those marked as reps are listed. The
EMail column is unconfirmed for a real company: without it, reps match by name only."""

from typing import Any

from connectors.records import Person

TABLE = "Employee"
COLUMNS = ["EmployeeID", "EmployeeName", "EMail"]


def salespeople(erp: Any) -> list[Person]:
    sql = erp.reader.dialect.select(
        TABLE, columns=COLUMNS, where=["IsSalesRep = 1"], order_by=["EmployeeID"]
    )
    return [
        Person(
            key=str(row["EmployeeID"]).strip(),
            name=str(row["EmployeeName"] or "").strip(),
            email=str(row["EMail"] or "").strip(),
        )
        for row in erp.reader.rows(sql)
        if str(row["EmployeeID"] or "").strip()
    ]
