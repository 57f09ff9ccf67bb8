"""The workspace file (create, open, refuse what is not one) and exports that read back."""

from __future__ import annotations

import datetime as dt
import gzip
import warnings

import duckdb
import pyarrow.parquet as pq
import pytest

from journeyscope.events.errors import WorkspaceError
from journeyscope.events.export import ExportError, export_events, format_for
from journeyscope.events.importer import import_sources
from journeyscope.events.workspace import FORMAT_VERSION, Workspace

from .test_readers_xes import LOG


def pm4py_module():
    """pm4py (AGPL, a test oracle only), imported quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("pm4py")


def test_create_refuses_an_existing_file(tmp_path):
    path = tmp_path / "w.duckdb"
    Workspace.create(path).close()
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(path)


def test_open_refuses_what_is_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="no such workspace"):
        Workspace.open(tmp_path / "missing.duckdb")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t (a INT)").close()
    with pytest.raises(WorkspaceError, match="not a journeyscope workspace"):
        Workspace.open(other)
    junk = tmp_path / "junk.duckdb"
    junk.write_text("hello")
    with pytest.raises(WorkspaceError, match="not a workspace file"):
        Workspace.open(junk)


def test_open_refuses_a_newer_format(tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace.create(path) as ws:
        ws.set_meta("format_version", str(FORMAT_VERSION + 1))
    with pytest.raises(WorkspaceError, match="newer"):
        Workspace.open(path)


def test_info_counts_events_accounts_contacts_and_sources(ws, events_csv, write):
    contacts = write("contacts.csv", "contact_id,account_id,title\nc1,acme,CTO\n")
    import_sources(ws, [events_csv, contacts])
    info = ws.info()
    assert (info.events, info.accounts, info.contacts, info.imports) == (3, 2, 1, 2)
    assert info.first_ts == dt.datetime(2024, 3, 1, 9) and info.last_ts == dt.datetime(
        2024, 3, 3, 11)
    assert info.sources == [("events.csv", 3)]
    assert info.matched_share is None


def test_the_connection_runs_in_utc(ws):
    assert ws.con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet", "out.xes",
                                  "out.xes.gz"])
def test_export_then_import_adds_nothing(ws, write, tmp_path, name):
    import_sources(ws, [write("log.xes", LOG), write("e.csv", "account_id,ts,activity,value\n"
                                                     "x,2024-01-01 10:00:00.123456,call,1.5\n")])
    out = tmp_path / name
    assert export_events(ws.con, out) == 4
    again = import_sources(ws, [out])
    assert (again.events, again.duplicates) == (0, 4)


def test_export_formats_carry_utc(ws, write, tmp_path):
    import_sources(ws, [write("e.csv", "account_id,ts,activity\na,2024-01-01T12:00:00+02:00,x\n")])
    export_events(ws.con, tmp_path / "o.csv")
    assert "2024-01-01T10:00:00.000000Z" in (tmp_path / "o.csv").read_text()
    export_events(ws.con, tmp_path / "o.parquet")
    ts = pq.read_table(tmp_path / "o.parquet").column("ts")
    assert str(ts.type.tz) == "UTC"
    export_events(ws.con, tmp_path / "o.xes.gz")
    with gzip.open(tmp_path / "o.xes.gz", "rt") as fh:
        assert "2024-01-01T10:00:00.000000+00:00" in fh.read()


def test_export_format_from_name_or_flag(tmp_path):
    assert format_for(tmp_path / "a.XES.gz") == "xes"
    assert format_for(tmp_path / "a.data", "parquet") == "parquet"
    with pytest.raises(ExportError, match="cannot tell"):
        format_for(tmp_path / "a.data")
    with pytest.raises(ExportError, match="unknown export format"):
        format_for(tmp_path / "a.csv", "xlsx")


def test_pm4py_reads_our_xes(ws, write, tmp_path):
    pm4py = pm4py_module()
    import_sources(ws, [write("log.xes", LOG.replace('value="Ann"', 'value="A &amp; B"'))])
    out = tmp_path / "out.xes"
    export_events(ws.con, out)
    with warnings.catch_warnings():  # pm4py's own advice about optional backends
        warnings.simplefilter("ignore")
        log = pm4py.read_xes(str(out), return_legacy_log_object=False, show_progress_bar=False)
    assert len(log) == 3
    assert sorted(log["case:concept:name"].unique()) == ["acme", "globex"]
    assert sorted(log["concept:name"]) == ["call", "deal_won", "demo_held"]
    assert "A & B" in set(log["org:resource"].dropna())
    assert set(log["case:employees"].dropna()) == {120}
