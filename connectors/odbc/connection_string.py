"""What an admin may write in an ODBC connection string: the documented keys of the dialect's
driver, a driver from its list, and values that cannot smuggle in another attribute.

A connection string is handed to the ODBC driver manager as it is, so each attribute in it
is an instruction: `DRIVER=` loads a library, SQLite's `LoadExt=` loads any shared object,
ProvideX's `LogFile=` writes a file. So only the keys a Sage company needs are taken, a
value is plain (no `;`, `{`, `}`) or one braced run without braces inside, no key twice,
and the password never here (it is a secret of the connection, stored encrypted, added when
connecting).
"""

import re
from dataclasses import dataclass


class UnsafeConnectionString(ValueError):
    """The connection string says something not allowed; the message says what to change."""


@dataclass(frozen=True)
class Vocabulary:
    """What one dialect's driver is given: its driver names and keys (both case-blind)."""

    label: str
    drivers: frozenset[str]
    keys: frozenset[str]

    def knows_driver(self, name: str) -> bool:
        return name.strip().lower() in {driver.lower() for driver in self.drivers}

    def knows_key(self, key: str) -> bool:
        return key.upper() in {known.upper() for known in self.keys}

    def driver_names(self) -> str:
        return ", ".join(f"{{{name}}}" for name in sorted(self.drivers))


def vocabulary(label: str, drivers: set[str], keys: str) -> Vocabulary:
    """`keys` separated by spaces; DSN, DRIVER and UID go with every dialect."""
    return Vocabulary(label, frozenset(drivers), frozenset({"DSN", "DRIVER", "UID", *keys.split()}))


# Per dialect (connectors/odbc/dialects.py): the keys Sage and the driver makers document
# for reading a company, nothing that loads code or writes files.
VOCABULARIES = {
    "providex": vocabulary(
        "ProvideX (Sage 100)",
        {"MAS 90 4.0 ODBC Driver", "MAS 90 32-bit ODBC Driver", "Sage 100 ODBC Driver"},
        "Company Directory Prefix ViewDLL Server CacheSize DirtyReads BurstMode "
        "StripTrailingSpaces SilentConnect RemotePVKIOHost",
    ),
    "mssql": vocabulary(
        "SQL Server (Sage 100 Premium)",
        {
            "ODBC Driver 18 for SQL Server",
            "ODBC Driver 17 for SQL Server",
            "SQL Server",
            "SQL Server Native Client 11.0",
        },
        "Server Database Encrypt TrustServerCertificate Trusted_Connection App "
        "ApplicationIntent MultiSubnetFailover",
    ),
    "pervasive": vocabulary(
        "Pervasive / Actian Zen (Sage 50)",
        {
            "Pervasive ODBC Interface",
            "Pervasive ODBC Client Interface",
            "Pervasive ODBC Engine Interface",
            "Pervasive ODBC Unicode Interface",
            "Actian Zen ODBC Interface",
        },
        "ServerName ServerDSN DBQ TCPPort ArrayFetchOn ArrayBufferSize",
    ),
    "sqlite": vocabulary(
        "SQLite (sandbox)",
        {"SQLite3"},
        "Database StepAPI Timeout SyncPragma NoTXN NoCreat ShortNames LongNames BigInt JDConv "
        "FKSupport NoWCHAR",
    ),
}
PASSWORD_KEYS = {"PWD", "PASSWORD"}
# key = value, the value plain (no ; { }) or one braced run without braces inside.
ATTRIBUTE = re.compile(
    r"\s*(?P<key>[A-Za-z][A-Za-z0-9_ ]*?)\s*=\s*(?P<value>\{[^{}]*\}|[^;{}]*?)\s*(?:;|$)"
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def attributes(text: str) -> list[tuple[str, str]]:
    """(key, value) of each attribute, braces kept on values; raises UnsafeConnectionString
    where the text cannot be read as plain attributes."""
    if CONTROL.search(text):
        raise UnsafeConnectionString("The connection string holds a control character.")
    found, position = [], 0
    while position < len(text):
        if text[position] in "; ":
            position += 1
            continue
        match = ATTRIBUTE.match(text, position)
        if not match or match.end() == position:
            near = text[position : position + 30]
            raise UnsafeConnectionString(
                f"Cannot read the connection string at “{near}”: write key=value pairs "
                "separated by ;, a value holding ; in braces ({like;this}), never a brace "
                "inside a value."
            )
        found.append((match["key"].strip(), match["value"]))
        position = match.end()
    return found


def check_connection_string(text: str, dialect: str) -> str:
    """The connection string, stripped, if the dialect's driver may be given it; otherwise
    UnsafeConnectionString saying which key and what to do."""
    words = VOCABULARIES.get(dialect)
    if words is None:
        raise UnsafeConnectionString(f"Unknown SQL dialect “{dialect}”.")
    seen: set[str] = set()
    for key, value in attributes(text.strip()):
        if key.upper() in PASSWORD_KEYS:
            raise UnsafeConnectionString(
                f"Leave {key} out: type the password in the ODBC password field, where it is "
                "stored encrypted."
            )
        if key.upper() in seen:
            raise UnsafeConnectionString(f"{key} is given twice: keep one.")
        seen.add(key.upper())
        if not words.knows_key(key):
            allowed = ", ".join(sorted(words.keys, key=str.lower))
            raise UnsafeConnectionString(
                f"{key} is not a setting the {words.label} driver is given here. Use only: "
                f"{allowed}."
            )
        if key.upper() == "DRIVER" and not words.knows_driver(value.strip("{}")):
            raise UnsafeConnectionString(
                f"DRIVER={value} is not a {words.label} driver. Use one of: "
                f"{words.driver_names()}, or a DSN."
            )
    if not seen & {"DSN", "DRIVER"}:
        raise UnsafeConnectionString("Name the DSN (DSN=…) or the driver (DRIVER={…}).")
    return text.strip()
