"""A sandbox company file written by an earlier version of the sandbox (a demo started long
ago, before a table or column was added) is written again with the seed when the sandbox
starts, instead of failing the first flow that reads the new table; a current one is kept."""

import sqlite3
from contextlib import closing

import pytest

from sandbox.sage50desktop.app import Sage50DesktopSandbox
from sandbox.sage100.app import Sage100Sandbox


def tables_of(path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize("sandbox_class", [Sage100Sandbox, Sage50DesktopSandbox])
def test_a_company_file_missing_a_table_is_seeded_again_and_a_current_one_kept(
    tmp_path, sandbox_class
):
    path = sandbox_class(tmp_path).db_path
    newest = sandbox_class.tables[-1].name
    with closing(sqlite3.connect(path)) as db:
        db.execute(f'DROP TABLE "{newest}"')
        db.commit()
    assert newest not in tables_of(path)
    sandbox_class(tmp_path)  # started again
    assert newest in tables_of(path)

    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE kept_marker (x)")
        db.commit()
    sandbox_class(tmp_path)  # the schema is current: the file is left as it is
    assert "kept_marker" in tables_of(path)
