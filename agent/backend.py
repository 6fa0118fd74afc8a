"""What every backend of the Clarity agent shares: the record type, the errors a Sage
product's write can end in, and health.

A backend performs writes in one Sage product (Sage 100 through BOI, Sage 50 US through its
SDK, or a sandbox standing in for either). Values use the names the product's ODBC tables
and SDK use; amounts and quantities arrive as Decimal. A write Sage refuses raises
`Refused` with Sage's own message and writes nothing.

A create may name the field holding the record's external reference (`match`): then, in the
same write (one transaction, or one turn of the backend's single worker), a record already
holding the value is returned instead, marked `EXISTED`, and nothing is written. Several
documents holding it raise `SeveralMatches` (a person must keep one).
"""

import re
from abc import ABC, abstractmethod
from itertools import count
from typing import Any

Record = dict[str, Any]
EXISTED = "_existed"  # set on a record a conditional create found instead of writing


def customer_code(name: str, attempt: int) -> str:
    """ACME, ACME01, ACME02…: a new customer's number (Sage 100) or ID (Sage 50) made from
    its name as Sage users make them, `attempt` counting the codes found taken."""
    base = re.sub(r"[^A-Z0-9]", "", name.upper())[:8] or "CUST"
    return base if attempt == 0 else f"{base[:6]}{attempt:02d}"


def free_customer_code(name: str, taken: set[str]) -> str:
    """The first `customer_code` for the name that is not in `taken`."""
    return next(code for attempt in count() if (code := customer_code(name, attempt)) not in taken)


class Refused(Exception):
    """Sage refused the write (BOI result 0, an SDK `ValidationException`): `message` is
    Sage's own words, `field` the value it refused when Sage names one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SeveralMatches(Exception):
    """More than one record already holds the external reference a create names: a person
    must keep one (the agent answers 409 `several_matches`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RecordInUse(Exception):
    """A record the write needs is open in Sage (Sage 50's `RecordInUseException`): nothing
    was written, and the same write succeeds later (409 `record_in_use`, retried)."""


class BackendUnavailable(Exception):
    """The Sage product cannot be reached (no session, COM or .NET failure): 503."""


class AgentBackend(ABC):
    """One Sage product's writes, each a method of the product's contract (e.g.
    `agent.sage100.backend.Sage100Backend`), called by its `ProductApi` with the request's
    values. A backend holding a session to Sage may also define `close()`: `python -m agent`
    calls it when the agent stops, so the session ends cleanly."""

    @abstractmethod
    def health(self) -> Record:
        """Whether a session to Sage can be opened: backend, company, version and such."""
