"""Build the Sage 50 company file: every table of `schema.TABLES`, filled with the seed.

The seed is the same for a given day: master data and transactions come from one
random.Random(SEED); dates are counted back from `today` so the history sits in the months
before it and the current year is the open period (Company.FirstOpenPeriodStart).
"""

import copy
import random
from datetime import date
from functools import cache
from pathlib import Path

from sandbox.core.company import write_tables
from sandbox.sage50desktop.data import company_row, customer_rows, item_rows, reference_rows
from sandbox.sage50desktop.history import history_rows
from sandbox.sage50desktop.ledger import Row
from sandbox.sage50desktop.schema import TABLES

SEED = 50


@cache
def _seed_tables(today: date) -> dict[str, list[Row]]:
    rng = random.Random(SEED)
    tables = reference_rows()
    tables.update(customer_rows(rng, today))
    tables["LineItem"] = item_rows(rng)
    journals, next_invoice, next_order = history_rows(rng, today, tables)
    tables.update(journals)
    tables["Company"] = [company_row(today, next_invoice, next_order)]
    return tables


def seed_tables(today: date | None = None) -> dict[str, list[Row]]:
    """The seed rows per table for `today` (a fresh copy: callers may change them)."""
    return copy.deepcopy(_seed_tables(today or date.today()))


def write_seed(path: Path, today: date | None = None) -> None:
    """Every table dropped and written again with the seed for `today`, in one transaction."""
    write_tables(path, TABLES, _seed_tables(today or date.today()))
