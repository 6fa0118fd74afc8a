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

from abc import ABC, abstractmethod
from typing import Any

Record = dict[str, Any]
EXISTED = "_existed"  # set on a record a conditional create found instead of writing


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
