"""The deal owner's salesperson on a new Sage 100 order through the BOI backend, against the
recording stand-in of Sage 100's COM objects (tests/unit/test_sage100_boi_backend.py)."""

import pytest

from tests.unit.test_sage100_boi_backend import HEADER, LINES, FakeProvideX, boi_backend

BUS = "SO_SalesOrder_bus"


@pytest.fixture
def fake() -> FakeProvideX:
    return FakeProvideX()


@pytest.fixture
def backend(fake):
    yield from boi_backend(fake)


def set_on_bus(fake: FakeProvideX) -> list[tuple]:
    return [call for call in fake.log if call[:2] == (BUS, "nSetValue")]


def test_the_owners_salesperson_is_set_after_the_customer(backend, fake):
    order = backend.create_sales_order({**HEADER, "SalespersonNo": "0200"}, LINES)
    written = set_on_bus(fake)
    assert written.index((BUS, "nSetValue", "SalespersonNo$", "0200")) > written.index(
        (BUS, "nSetValue", "CustomerNo$", "ACME")
    )  # after the customer, whose default it replaces
    assert order["SalespersonNo"] == "0200"


def test_no_salesperson_keeps_the_customers_own(backend, fake):
    order = backend.create_sales_order({**HEADER, "SalespersonNo": ""}, LINES)
    assert not [call for call in set_on_bus(fake) if call[2] == "SalespersonNo$"]
    assert "SalespersonNo" not in order
