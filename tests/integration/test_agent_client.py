"""`AgentClient` over real HTTP to an agent (cheroot, in a thread) serving Sage 50's
endpoints on a scripted backend: each way a write can end arrives as the error class the
runner acts on, with the field the error queue points at."""

from collections.abc import Iterator
from decimal import Decimal
from threading import Thread

import pytest
from cheroot import wsgi

from agent.backend import (
    EXISTED,
    BackendUnavailable,
    Record,
    RecordInUse,
    Refused,
    SeveralMatches,
)
from agent.sage50.api import Sage50Api
from agent.sage50.backend import Sage50Backend
from agent.server import AgentApp
from connectors.agent_client import AgentClient
from connectors.errors import (
    AuthError,
    Conflict,
    NotFound,
    TransientError,
    ValidationError,
)

KEY = "client-test-key"
INVOICE = {
    "CustomerID": "ACME",
    "Date": "2026-03-02",
    "InternalNote": "DEAL-42",
    "lines": [{"ItemID": "WID-100", "Quantity": Decimal(2), "UnitPrice": Decimal("12.50"),
               "Amount": Decimal("25.00")}],
}  # fmt: skip


class ScriptedSage50(Sage50Backend):
    """Ends each invoice as `outcome` says: an exception to raise, or else writes it."""

    def __init__(self) -> None:
        self.outcome: Exception | None = None
        self.written: list[Record] = []

    def health(self) -> Record:
        return {"status": "ok", "backend": "scripted", "company": "Cedar Ridge Supply Co."}

    def create_customer(self, values: Record, match: str = "") -> Record:
        return {**values, "CustomerRecordNumber": 1}

    def update_customer(self, customer_id: str, values: Record) -> Record:
        return {"CustomerID": customer_id, **values}

    def create_sales_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        if self.outcome is not None:
            raise self.outcome
        found = [done for done in self.written if match and done[match] == header[match]]
        if found:
            return {**found[0], EXISTED: True}
        self.written.append({**header, "ReferenceNumber": "10051", "MainAmount": Decimal("25")})
        return {**self.written[-1], "lines": lines}

    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        return self.create_sales_invoice(header, lines, match)


@pytest.fixture
def backend() -> ScriptedSage50:
    return ScriptedSage50()


@pytest.fixture
def agent_url(backend, tmp_path) -> Iterator[str]:
    app = AgentApp(Sage50Api(backend), KEY, tmp_path / "idempotency.db", max_body_bytes=4096)
    server = wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = Thread(target=server.serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.bind_addr[1]}"
    server.stop()
    thread.join(5)


@pytest.fixture
def agent(agent_url) -> AgentClient:
    return AgentClient("sage50desktop", "Sage 50 agent", agent_url, KEY, product="Sage 50")


def create_invoice(agent: AgentClient, key: str, body: dict | None = None) -> tuple[dict, bool]:
    return agent.create("/v1/sales-invoices", "sales_invoice", body or INVOICE, key,
                        match="InternalNote")  # fmt: skip


def test_an_invoice_is_made_once_and_its_amounts_come_back_unchanged(agent, backend):
    made, existed = create_invoice(agent, "deal-42:invoice")
    again, existed_again = create_invoice(agent, "deal-42:invoice-retry")
    assert (existed, existed_again) == (False, True)
    assert made["ReferenceNumber"] == again["ReferenceNumber"] == "10051"
    assert Decimal(made["lines"][0]["UnitPrice"]) == Decimal("12.50")
    assert len(backend.written) == 1
    assert agent.health()["company"] == "Cedar Ridge Supply Co."


@pytest.mark.parametrize(
    "outcome, error, fields",
    [
        (Refused("Customer ID 'ACME' was not found.", "CustomerID"), ValidationError,
         {"CustomerID": "Customer ID 'ACME' was not found."}),
        (Refused("The column AccountID holds no account 49999."), ValidationError,
         {"AccountID": "The column AccountID holds no account 49999."}),
        (SeveralMatches("Sage 50 has 2 sales invoices with InternalNote DEAL-42."),
         ValidationError,
         {"InternalNote": "Sage 50 has 2 sales invoices with InternalNote DEAL-42."}),
        (RecordInUse("Customer ACME is in use by another user."), TransientError, None),
        (BackendUnavailable("Sage 50 is not running."), TransientError, None),
    ],
)  # fmt: skip
def test_each_ending_of_a_write_is_its_error_class_with_the_field(
    agent, backend, outcome, error, fields
):
    backend.outcome = outcome
    with pytest.raises(error) as caught:
        create_invoice(agent, f"deal-42:{type(outcome).__name__}")
    assert type(caught.value) is error
    if fields is not None:
        assert caught.value.fields == fields
    assert str(outcome) in caught.value.message


def test_a_record_in_use_is_tried_again_under_the_same_key_and_then_written(agent, backend):
    backend.outcome = RecordInUse("Customer ACME is in use by another user.")
    with pytest.raises(TransientError):
        create_invoice(agent, "deal-42:invoice")
    backend.outcome = None
    made, existed = create_invoice(agent, "deal-42:invoice")
    assert not existed and made["ReferenceNumber"] == "10051" and len(backend.written) == 1


def test_bad_bodies_keys_paths_and_sizes_are_plain_errors(agent, agent_url):
    with pytest.raises(ValidationError) as bad:
        create_invoice(agent, "bad-date", {**INVOICE, "Date": "03/02/2026"})
    assert list(bad.value.fields) == ["Date"]
    with pytest.raises(ValidationError, match="limit of 4096 bytes"):
        create_invoice(agent, "too-big", {**INVOICE, "InternalNote": "x" * 5000})
    create_invoice(agent, "reused")
    with pytest.raises(Conflict):
        create_invoice(agent, "reused", {**INVOICE, "InternalNote": "DEAL-43"})
    with pytest.raises(NotFound):
        agent.call("GET", "/v1/nothing-here")
    with pytest.raises(ValueError, match="idempotency key"):
        agent.call("POST", "/v1/sales-invoices", INVOICE)
    with pytest.raises(AuthError, match="Sage 50 agent refused the key"):
        AgentClient("sage50desktop", "Sage 50 agent", agent_url, "wrong").health()
