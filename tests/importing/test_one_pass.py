"""The one-pass import: Parquet read as a view straight into the workspace, numeric event keys,
import order (`seq`), repeated events numbered only where they repeat, matching and personas
joined in the insert, and the workspace format."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyscope.events import saving
from journeyscope.events.errors import SourceError, WorkspaceError
from journeyscope.events.importer import import_sources
from journeyscope.events.matching import apply_matching
from journeyscope.events.readers import read_source
from journeyscope.events.staging import KEY_COLUMNS
from journeyscope.events.workspace import Workspace
from journeyscope.model.types import JourneyMap

from .conftest import snapshot

MAP = JourneyMap.model_validate({
    "name": "Order test",
    "stages": [{"id": "s", "name": "S"}],
    "personas": [{"id": "cio", "name": "CIO", "titles": ["(?i)chief information"]}],
    "touchpoints": [
        {"id": "demo", "stage": "s", "name": "Demo", "match": {"activity": ["demo"]}},
        {"id": "cio-call", "stage": "s", "name": "CIO call",
         "match": {"activity": ["call"], "persona": ["cio"]}},
    ],
    "outcomes": {"won": {"activity": ["won"]}},
})


def parquet(path, rows: list[tuple]) -> None:
    """(account_id, contact_id, ts, activity) rows as a Parquet file, in this order."""
    columns = list(zip(*rows, strict=True))
    pq.write_table(pa.table({
        "account_id": pa.array(columns[0], pa.string()),
        "contact_id": pa.array(columns[1], pa.string()),
        "ts": pa.array(columns[2], pa.timestamp("us")),
        "activity": pa.array(columns[3], pa.string()),
    }), path)


T0 = dt.datetime(2024, 1, 1, 9)


def test_parquet_is_staged_as_a_view_over_the_file(con, tmp_path):
    path = tmp_path / "e.parquet"
    parquet(path, [("a", None, T0, "demo"), ("b", None, T0, "won")])
    staged = read_source(con, path)
    assert staged.events_view and staged.rows == 2 and staged.missing_accounts == 0
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert staged.events in views
    assert con.execute(f"SELECT account_id, _js_pos FROM {staged.events} ORDER BY 2"
                       ).fetchall() == [("a", 1), ("b", 2)]


def test_parquet_skip_bad_rows_filters_the_view(con, tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"account_id": ["a", None, "c"], "ts": ["2024-01-01", "2024-01-02",
                                                                     "soon"],
                             "activity": ["x", "y", "z"]}), path)
    staged = read_source(con, path, skip_bad_rows=True)
    assert (staged.rows, staged.skipped_rows) == (1, 2)
    assert "row 2: column account_id" in staged.skipped[0]
    assert "row 3: column ts: value 'soon'" in staged.skipped[1]
    assert con.execute(f"SELECT account_id FROM {staged.events}").fetchall() == [("a",)]


def test_event_key_is_the_engines_hash_of_the_event_values(ws, write):
    import_sources(ws, [write("e.csv", "account_id,ts,activity,value\n"
                                       "acme,2024-03-01 09:00:00,demo,12.5\n")])
    key = ws.con.execute("SELECT event_key FROM events").fetchone()[0]
    # computed apart from the importer, on the values as typed
    expected = ws.con.execute(
        "SELECT hash('acme', NULL::VARCHAR, TIMESTAMP '2024-03-01 09:00:00', 'demo', "
        "NULL::VARCHAR, NULL::VARCHAR, 12.5::DOUBLE, NULL::DOUBLE, NULL::VARCHAR, "
        "NULL::VARCHAR) >> 1").fetchone()[0]
    assert key == expected
    assert ws.get_meta("key_probe") is not None


def test_events_sharing_a_key_are_told_apart_by_their_values(ws, write, monkeypatch):
    # A key of the account alone makes every event of an account share one: values decide.
    monkeypatch.setattr(saving, "event_key_sql",
                        lambda prefix="": f"CAST(hash({prefix}account_id) >> 1 AS BIGINT)")
    both = write("both.csv", "account_id,ts,activity\na,2024-01-01,x\na,2024-01-01,y\n"
                             "a,2024-01-01,x\n")
    assert import_sources(ws, [both]).events == 3
    assert ws.con.execute("SELECT count(DISTINCT event_key) FROM events").fetchone()[0] == 2
    assert import_sources(ws, [both]).events == 0
    y = write("y.csv", "account_id,ts,activity\na,2024-01-01,y\na,2024-01-01,z\n")
    again = import_sources(ws, [y])
    assert (again.events, again.duplicates) == (1, 1)
    assert sorted(r[0] for r in ws.con.execute("SELECT activity FROM events").fetchall()) == \
        ["x", "x", "y", "z"]


def _as_format_2(path) -> None:
    """Make the workspace at `path` look as format 2 made it: MD5 keys as HUGEINT, no probe."""
    con = duckdb.connect(str(path))
    text = "concat_ws(chr(31), " + ", ".join(f"CAST({c} AS VARCHAR)" for c in KEY_COLUMNS) + ")"
    con.execute(f"ALTER TABLE events ALTER event_key TYPE HUGEINT USING "
                f"CAST(md5_number({text}) >> 1 AS HUGEINT)")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    con.execute("DELETE FROM meta WHERE key = 'key_probe'")
    con.close()


def test_a_format_2_workspace_is_read_as_it_is_and_upgraded_when_written(tmp_path, write):
    path = tmp_path / "old.duckdb"
    source = write("e.csv", "account_id,ts,activity\na,2024-01-01,x\na,2024-01-01,x\n"
                            "b,2024-01-02,y\n")
    with Workspace.create(path) as ws:
        import_sources(ws, [source])
    _as_format_2(path)
    with Workspace.open(path, read_only=True) as ws:
        assert ws.info().events == 3
        assert ws.get_meta("format_version") == "2"
    with Workspace.open(path) as ws:
        assert ws.get_meta("format_version") == "3"
        assert ws.con.execute("SELECT data_type FROM information_schema.columns WHERE "
                              "table_name = 'events' AND column_name = 'event_key'"
                              ).fetchone()[0] == "BIGINT"
        assert ws.con.execute("SELECT count(DISTINCT event_key) FROM events").fetchone()[0] == 3
        assert import_sources(ws, [source]).events == 0


def test_keys_made_by_another_hash_are_computed_again_before_an_import(ws, write):
    source = write("e.csv", "account_id,ts,activity\na,2024-01-01,x\na,2024-01-01,x\n")
    import_sources(ws, [source])
    # as if another DuckDB version had made the keys
    ws.con.execute("UPDATE events SET event_key = event_key // 2")
    ws.set_meta("key_probe", "made elsewhere")
    again = import_sources(ws, [source])
    assert (again.events, again.duplicates) == (0, 2)
    assert any("computed again" in note for note in again.notes)
    assert import_sources(ws, [source]).notes == []


def test_seq_is_the_file_order_and_grows_across_imports(ws, tmp_path, write):
    first = tmp_path / "first.parquet"
    # out of time order in the file, and a tie in time: seq keeps the file's order
    parquet(first, [("a", None, T0 + dt.timedelta(hours=1), "b"), ("a", None, T0, "a"),
                    ("a", None, T0, "tie")])
    import_sources(ws, [first])
    second = write("second.csv", "account_id,ts,activity\na,2024-01-01 08:00,c\n"
                                 "a,2024-01-01 08:00,d\n")
    import_sources(ws, [second])
    got = ws.con.execute("SELECT activity, seq FROM events ORDER BY seq").fetchall()
    assert [a for a, _ in got] == ["b", "a", "tie", "c", "d"]
    assert [s for _, s in got] == [1, 2, 3, 4, 5]


def test_identical_events_are_numbered_and_a_new_copy_is_added_once(ws, tmp_path):
    one = tmp_path / "one.parquet"
    parquet(one, [("a", None, T0, "retry"), ("a", None, T0, "retry"), ("b", None, T0, "x")])
    assert import_sources(ws, [one]).events == 3
    keys = ws.con.execute("SELECT count(DISTINCT event_key) FROM events").fetchone()[0]
    assert keys == 3
    # the same two copies again add nothing; a file holding a third copy adds only it
    assert import_sources(ws, [one]).events == 0
    three = tmp_path / "three.parquet"
    parquet(three, [("a", None, T0, "retry")] * 3)
    again = import_sources(ws, [three])
    assert (again.events, again.duplicates) == (1, 2)
    assert ws.con.execute("SELECT count(*) FROM events WHERE activity = 'retry'"
                          ).fetchone()[0] == 3


def test_reimporting_parquet_adds_nothing_and_changes_nothing(ws, tmp_path):
    path = tmp_path / "e.parquet"
    parquet(path, [(f"a{i % 7}", f"c{i}", T0 + dt.timedelta(minutes=i), "demo")
                   for i in range(500)])
    assert import_sources(ws, [path], journey_map=MAP).events == 500
    before = snapshot(ws)
    again = import_sources(ws, [path])
    assert (again.events, again.duplicates, again.accounts) == (0, 500, 0)
    after = snapshot(ws)
    assert after["events"] == before["events"] and after["accounts"] == before["accounts"]


def test_matching_and_personas_are_set_as_events_are_inserted(ws, tmp_path, write):
    contacts = write("contacts.csv", "contact_id,account_id,title\n"
                                     "c1,a,Chief Information Officer\nc2,a,Engineer\n")
    events = tmp_path / "e.parquet"
    parquet(events, [("a", "c1", T0, "call"), ("a", "c2", T0, "call"), ("a", "c2", T0, "demo"),
                     ("a", None, T0, "won"), ("a", None, T0, "other")])
    summary = import_sources(ws, [events, contacts], journey_map=MAP)
    assert summary.matched == 3
    got = ws.con.execute("SELECT contact_id, activity, persona, touchpoint, outcome FROM events "
                         "ORDER BY seq").fetchall()
    assert got == [("c1", "call", "cio", "cio-call", None), ("c2", "call", None, None, None),
                   ("c2", "demo", None, "demo", None), (None, "won", None, None, "won"),
                   (None, "other", None, None, None)]
    # matching the whole workspace again gives the same, and changes nothing
    before = ws.con.execute("SELECT * FROM events ORDER BY seq").fetchall()
    assert apply_matching(ws.con, MAP) == 3
    assert ws.con.execute("SELECT * FROM events ORDER BY seq").fetchall() == before


def test_a_failed_parquet_import_leaves_the_workspace_as_it_was(ws, tmp_path):
    good = tmp_path / "good.parquet"
    parquet(good, [("a", None, T0, "demo")])
    import_sources(ws, [good])
    before = snapshot(ws)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"account_id": ["b", "c"], "ts": ["2024-01-01", "2024-13-01"],
                             "activity": ["x", "y"]}), bad)
    with pytest.raises(SourceError) as info:
        import_sources(ws, [good, bad])
    assert (info.value.file, info.value.row, info.value.column) == (str(bad), 2, "ts")
    assert snapshot(ws) == before


def test_open_refuses_an_older_format_with_a_way_out(tmp_path):
    path = tmp_path / "old.duckdb"
    with Workspace.create(path) as ws:
        ws.set_meta("format_version", "1")
    with pytest.raises(WorkspaceError, match="format 1 is older") as info:
        Workspace.open(path)
    assert "import your sources again into a new workspace" in str(info.value)
    duckdb.connect(str(path)).close()  # the file was released
