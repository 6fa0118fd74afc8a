"""Read Sage 100 over ODBC: the shared reader (`connectors.odbc`) with Sage 100's words for
what to install or fix, and ProvideX as the default dialect.

Sage's ODBC drivers are read-only; writes go through the Clarity agent beside Sage 100.
"""

import pyodbc

from connectors.errors import ConnectorError
from connectors.odbc import client as odbc
from connectors.odbc.client import FETCH_SIZE, Column

SYSTEM = "sage100"  # the error identity (registry key)
SAGE100 = odbc.OdbcProduct(
    system=SYSTEM,
    label="Sage 100",
    driver_fix="install the Sage 100 ODBC driver for this server's 64-bit Python",
    logon_fix="check the user and password",
)

__all__ = ["SAGE100", "SYSTEM", "Column", "OdbcReader", "odbc_error"]


def odbc_error(exc: pyodbc.Error, connection_string: str = "") -> ConnectorError:
    """Classify an ODBC error once, in Sage 100's words."""
    return odbc.odbc_error(exc, SAGE100, connection_string)


class OdbcReader(odbc.OdbcReader):
    """One ODBC connection to one Sage 100 company, opened on first use."""

    def __init__(
        self,
        connection_string: str,
        dialect: str = "providex",
        password: str = "",
        fetch_size: int = FETCH_SIZE,
    ) -> None:
        super().__init__(SAGE100, connection_string, dialect, password, fetch_size)
