"""Read a Sage 50 US company over ODBC: the shared reader (`connectors.odbc`) on the
company's Pervasive / Actian Zen DSN, with Sage 50's words for what to install or fix.

Sage 50 US answers a refused login with "Invalid user authorization specification (-1903)":
the ODBC user (normally `Peachtree`) needs the data access password set inside Sage 50.
Amounts and quantities come back as Decimal whatever the driver hands over (the sandbox's
SQLite driver reports DECIMAL columns as text).
"""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from connectors.odbc.client import FETCH_SIZE, OdbcProduct, OdbcReader

SYSTEM = "sage50desktop"
LABEL = "Sage 50 (US desktop)"
SAGE50 = OdbcProduct(
    system=SYSTEM,
    label=LABEL,
    driver_fix="install the Actian Zen (Pervasive) ODBC driver Sage 50 ships, in the bitness "
    "of this server's Python, and make a DSN for the company",
    logon_fix="set the data access password in Sage 50 (Maintain > Users > Set Up Security > "
    "Crystal Reports/Data Access), then enter it here as the ODBC password with the user "
    "Peachtree",
    auth_words=("-1903", "authorization specification"),
)
# The DECIMAL columns of the company's tables (the agreed schema): money and quantities.
NUMBER_COLUMNS = frozenset({
    "Terms_CreditLimit", "Balance", "SalesPrice1", "SalesPrice2", "SalesPrice3", "SalesPrice4",
    "SalesPrice5", "QuantityOnHand", "MainAmount", "AmountPaid", "Amount", "Quantity",
    "UnitCost", "Rate",
})  # fmt: skip


def number(value: Any) -> Any:
    """A DECIMAL column's value as Decimal (None and blanks stay as they are)."""
    if isinstance(value, str) and value.strip():
        return Decimal(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value


class Sage50Reader(OdbcReader):
    """One ODBC connection to one Sage 50 US company, opened on first use."""

    def __init__(
        self,
        connection_string: str,
        dialect: str = "pervasive",
        password: str = "",
        fetch_size: int = FETCH_SIZE,
    ) -> None:
        super().__init__(SAGE50, connection_string, dialect, password, fetch_size)

    def rows(self, sql: str, params: tuple | list = ()) -> Iterator[dict[str, Any]]:
        for row in super().rows(sql, params):
            yield {
                name: number(value) if name in NUMBER_COLUMNS else value
                for name, value in row.items()
            }
