"""The DuckDB ``quarantine`` table: one row per entry set aside, known by its key."""

from __future__ import annotations

import duckdb
import pytest

from repr_assets.sources.base import Quarantined, row_content
from repr_assets.stores.quarantine import record_quarantined, set_aside

OLD_DDL = """
CREATE TABLE quarantine (
    dataset VARCHAR NOT NULL, source VARCHAR NOT NULL, ref VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, run_id VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL,
    {extra}PRIMARY KEY (dataset, ref)
)
"""


@pytest.mark.parametrize("with_item_id", [True, False])
def test_a_table_keyed_by_ref_is_remade_keyed_by_entry_and_keeps_its_rows(tmp_path, with_item_id):
    path = str(tmp_path / "reports.duckdb")
    with duckdb.connect(path) as connection:
        connection.execute(OLD_DDL.format(extra="item_id VARCHAR, " if with_item_id else ""))
        columns = "dataset, source, ref, reason, run_id, quarantined_at"
        connection.execute(
            f"INSERT INTO quarantine ({columns}) VALUES "
            "('d', 's', 'a.png', 'empty file', 'r1', now()), "
            "('d', 's', 'f.csv:line 5', 'row of the wrong shape', 'r1', now())"
        )
        if with_item_id:
            connection.execute("UPDATE quarantine SET item_id = 'id-5' WHERE ref LIKE 'f.csv%'")
        before = set_aside(connection, "d")
        assert before.refs == {"a.png"} | (set() if with_item_id else {"f.csv:line 5"})
        assert before.keys == {"a.png", "id-5" if with_item_id else "f.csv:line 5"}
        # The same line now holds another row: it is a new entry, not a known one.
        moved = Quarantined("f.csv:line 5", "row of the wrong shape", content=row_content(b"x"))
        assert record_quarantined(connection, "d", "s", [moved, moved], "r2") == 1
        rows = connection.execute("SELECT ref, run_id FROM quarantine ORDER BY run_id").fetchall()
    assert rows == [("a.png", "r1"), ("f.csv:line 5", "r1"), ("f.csv:line 5", "r2")]


def test_a_row_is_known_by_its_content_whatever_its_line_or_line_end():
    assert row_content(b"1,2,a\r\n") == row_content(b"1,2,a\n") == row_content(b"1,2,a")
    assert row_content(b"1,2,a") != row_content(b"1,2,b")
    assert Quarantined("f.csv:line 3", "why", content="c").key == "c"
    assert Quarantined("f.csv:line 3", "why", item_id="i", content="c").key == "i"
    assert Quarantined("cat/1.png", "empty file").key == "cat/1.png"
