"""Build the Sage 100 database file: every table of `schema.TABLES`, filled with the seed."""

import copy
import random
from functools import cache
from pathlib import Path

from sandbox.core.company import write_tables
from sandbox.sage100.data import Row, customer_rows, item_rows, reference_rows
from sandbox.sage100.orders import order_rows
from sandbox.sage100.prices import price_code_rows
from sandbox.sage100.purchasing import purchasing_rows
from sandbox.sage100.schema import TABLES

SEED = 100


@cache
def _seed_tables() -> dict[str, list[Row]]:
    rng = random.Random(SEED)
    tables = reference_rows()
    customers, contacts = customer_rows(rng)
    items, stock = item_rows(rng)
    tables.update(purchasing_rows(items, stock))
    tables.update(order_rows(rng, customers, items, stock))
    tables.update(
        AR_Customer=customers,
        AR_CustomerContact=contacts,
        CI_Item=items,
        IM_ItemWarehouse=stock,
        IM_PriceCode=price_code_rows(items),
    )
    return tables


def seed_tables() -> dict[str, list[Row]]:
    """The seed rows per table (a fresh copy: callers may change them)."""
    return copy.deepcopy(_seed_tables())


def write_seed(path: Path) -> None:
    """Every table dropped and written again with the seed, in one transaction."""
    write_tables(path, TABLES, _seed_tables())
