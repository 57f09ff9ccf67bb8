"""The real public data of ../shared/data, imported by the documented commands, with counts
checked against independent counts (regular expressions over the raw files, Python's csv module,
pm4py) and against the README's figures."""

from __future__ import annotations

import csv
import gzip
import re
import warnings

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.events.importer import import_sources
from journeyscope.events.workspace import Workspace

from .conftest import python_example

README_COUNTS = {  # ../shared/data/README.md
    "bpic2012.xes.gz": (262_200, 13_087),
    "helpdesk.xes.gz": (21_348, 4_580),
    "receipt.csv": (8_577, 1_434),
}


def regex_counts(path) -> tuple[int, int]:
    """Events and traces of an XES file, counted as `<event` and `<trace` tags."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    return len(re.findall(r"<event[\s>]", text)), len(re.findall(r"<trace[\s>]", text))


def events_and_accounts(ws: Workspace) -> tuple[int, int]:
    return ws.con.execute("SELECT count(*), count(DISTINCT account_id) FROM events").fetchone()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bpic2012.xes.gz", "helpdesk.xes.gz"])
def test_xes_logs_import_every_event(shared_data, tmp_path, name):
    path = shared_data / "event_logs" / name
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        summary = import_sources(ws, [path])
        assert (summary.events, summary.duplicates) == (README_COUNTS[name][0], 0)
        assert events_and_accounts(ws) == README_COUNTS[name] == regex_counts(path)
        again = import_sources(ws, [path])
        assert again.events == 0 and events_and_accounts(ws) == README_COUNTS[name]


@pytest.mark.slow
def test_helpdesk_matches_pm4py(shared_data, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm4py = pytest.importorskip("pm4py")
        log = pm4py.read_xes(str(shared_data / "event_logs" / "helpdesk.xes.gz"),
                             return_legacy_log_object=False, show_progress_bar=False)
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        import_sources(ws, [shared_data / "event_logs" / "helpdesk.xes.gz"])
        ours = ws.con.execute("SELECT account_id, activity, count(*) FROM events "
                              "GROUP BY ALL").fetchall()
        owners = ws.con.execute("SELECT count(owner) FROM events").fetchone()[0]
    theirs = log.groupby(["case:concept:name", "concept:name"]).size()
    assert {(a, b): n for a, b, n in ours} == {k: int(v) for k, v in theirs.items()}
    assert owners == int(log["org:resource"].notna().sum())


def test_receipt_csv_imports_every_row(shared_data, tmp_path):
    path = shared_data / "event_logs" / "receipt.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    independent = (len(rows), len({r["case:concept:name"] for r in rows}))
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        import_sources(ws, [path])
        assert events_and_accounts(ws) == independent == README_COUNTS["receipt.csv"]
        # offsets (+01:00 / +02:00) are converted: the first row is 13:45:40.276+02:00
        first = ws.con.execute("SELECT ts FROM events WHERE account_id = 'case-10011' "
                               "ORDER BY ts LIMIT 1").fetchone()[0]
        assert first.isoformat() == "2011-10-11T11:45:40.276000"


def test_olist_funnel_by_the_documented_command(shared_data, tmp_path):
    folder = shared_data / "olist_marketing_funnel"
    with (folder / "olist_marketing_qualified_leads_dataset.csv").open(newline="") as fh:
        leads = list(csv.DictReader(fh))
    with (folder / "olist_closed_deals_dataset.csv").open(newline="") as fh:
        deals = list(csv.DictReader(fh))
    first_contact = {r["mql_id"]: r["first_contact_date"] for r in leads}
    # the real data holds one deal won (2018-03-06) before its lead's first contact (03-08)
    won_after_contact = sum(1 for d in deals if d["won_date"] > first_contact[d["mql_id"]])
    workspace = tmp_path / "olist.duckdb"
    result = CliRunner().invoke(app, [
        "import", str(folder / "olist_marketing_qualified_leads_dataset.csv"),
        str(folder / "olist_closed_deals_dataset.csv"), "--mapping", "olist",
        "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert f"{len(leads) + len(deals):,}" in result.output
    with Workspace.open(workspace) as ws:
        got = dict(((a, (n, o, c)) for a, n, o, c in ws.con.execute(
            "SELECT activity, count(*), count(owner), count(channel) FROM events GROUP BY 1"
        ).fetchall()))
        accounts = ws.info().accounts
        handovers = ws.con.execute(
            "SELECT count(*) FROM events f JOIN events w ON f.account_id = w.account_id "
            "WHERE f.activity = 'first_contact' AND w.activity = 'deal_won' "
            "AND f.owner IS NOT NULL AND w.owner IS NOT NULL AND f.ts < w.ts").fetchone()[0]
    with_origin = sum(1 for r in leads if r["origin"])
    assert got == {"first_contact": (len(leads), len(deals), with_origin),
                   "deal_won": (len(deals), len(deals), 0)}
    assert accounts == len({r["mql_id"] for r in leads}) == 8000
    # every won lead: a first contact owned by its SDR, then the win owned by its SR
    assert handovers == won_after_contact == len(deals) - 1


def test_olist_funnel_by_the_documented_python_example(shared_data, tmp_path, monkeypatch,
                                                        capsys):
    # The example reads ../shared/data from the project folder, as the commands above it do.
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    code = python_example()
    exec(code, {})
    shown = code.rstrip().splitlines()[-1]  # the example's last line: what it prints
    assert capsys.readouterr().out == shown.removeprefix("# ") + "\n" == "8842 8000 0 None\n"
    with Workspace.open(project / "olist.duckdb", read_only=True) as ws:
        assert events_and_accounts(ws) == (8842, 8000)
