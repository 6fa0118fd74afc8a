"""Sage 100's salespeople (`AR_Salesperson`, read over ODBC), keyed by SalespersonNo, the
column a sales order names its salesperson by. Sage keeps them per division
(SalespersonDivisionNo); the order takes the number, so the number is the key."""

from typing import Any

from connectors.records import Person

TABLE = "AR_Salesperson"
COLUMNS = ["SalespersonDivisionNo", "SalespersonNo", "SalespersonName", "EmailAddress"]


def salespeople(erp: Any) -> list[Person]:
    sql = erp.reader.dialect.select(
        TABLE, columns=COLUMNS, order_by=["SalespersonDivisionNo", "SalespersonNo"]
    )
    people: dict[str, Person] = {}
    for row in erp.reader.rows(sql):
        number = str(row["SalespersonNo"] or "").strip()
        if number and number not in people:
            people[number] = Person(
                key=number,
                name=str(row["SalespersonName"] or "").strip(),
                email=str(row["EmailAddress"] or "").strip(),
            )
    return list(people.values())
