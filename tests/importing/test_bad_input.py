"""Bad input: a located error (file, row or line, column, value), a non-zero exit, and the
workspace exactly as it was; `--skip-bad-rows` imports the rest and reports what it skipped."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.events.errors import SourceError
from journeyscope.events.importer import import_sources
from journeyscope.events.workspace import Workspace, open_for_import

from .conftest import python_example, snapshot

GOOD = "account_id,ts,activity\nacme,2024-01-01 10:00,call\n"


def broken_sources(tmp_path: Path) -> dict[str, tuple[Path, dict]]:
    """name -> (file, the fields its error must carry)."""
    out: dict[str, tuple[Path, dict]] = {}

    def put(name: str, data: bytes, **expect) -> None:
        path = tmp_path / name
        path.write_bytes(data)
        out[name] = (path, expect)

    put("no_ts.csv", b"account_id,when,activity\na,2024-01-01,x\n", column="ts")
    put("bad_ts.csv", b"account_id,ts,activity\na,2024-01-01,x\nb,2024-02-30 25:00,y\n",
        row=2, column="ts", value="2024-02-30 25:00")
    put("bad_number.csv", b"account_id,ts,activity,value\na,2024-01-01,x,12\nb,2024-01-02,y,lots\n",
        row=2, column="value", value="lots")
    put("empty_activity.csv", b"account_id,ts,activity\na,2024-01-01,\n", row=1,
        column="activity")
    rows = "".join(f"a{i},2024-01-01,x\n" for i in range(3000))
    put("latin1_in_utf8.csv", ("account_id,ts,activity\n" + rows).encode()
        + "b,2024-01-01,caf\xe9\n".encode("latin-1"), line=3002)
    put("stray_field.csv", b"account_id,ts,activity\na,2024-01-01,x\nb,2024-01-01,y,z\n",
        line=3)
    data = gzip.compress(("account_id,ts,activity\n" + rows * 20).encode())
    put("truncated.csv.gz", data[: len(data) // 2])
    put("evil.xes", b'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x SYSTEM '
        b'"file:///etc/passwd">]><log><trace><string key="concept:name" value="&x;"/>'
        b"</trace></log>", line=1)
    put("long_line.csv", ("account_id,ts,activity,text\na,2024-01-01,x,short\n"
                          "b,2024-01-01,y," + "z" * 5000 + "\n").encode(), line=3)
    return out


@pytest.fixture
def filled(ws: Workspace, tmp_path: Path) -> Workspace:
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    import_sources(ws, [good])
    return ws


@pytest.mark.parametrize("name", ["no_ts.csv", "bad_ts.csv", "bad_number.csv",
                                  "empty_activity.csv", "latin1_in_utf8.csv", "stray_field.csv",
                                  "truncated.csv.gz", "evil.xes", "long_line.csv"])
def test_bad_source_is_located_and_changes_nothing(filled, tmp_path, small_line_limit, name):
    path, expect = broken_sources(tmp_path)[name]
    good = tmp_path / "more.csv"
    good.write_text("account_id,ts,activity\nnew,2024-05-05,call\n")
    before = snapshot(filled)
    with pytest.raises(SourceError) as info:
        import_sources(filled, [good, path])  # the good file is not imported either
    error = info.value
    assert error.file == str(path)
    for field, value in expect.items():
        assert getattr(error, field) == value, (field, str(error))
    assert str(error).startswith(str(path))
    assert snapshot(filled) == before


def test_truncated_gzip_names_the_last_line_it_reaches(ws, tmp_path):
    path, _ = broken_sources(tmp_path)["truncated.csv.gz"]
    with pytest.raises(SourceError, match="truncated") as info:
        import_sources(ws, [path])
    assert 1000 < info.value.line < 60_000  # half of the 60,001 lines


CUT_SOURCES = {  # name -> (text of five whole lines and a sixth cut short, its encoding)
    "cut.csv.gz": ("account_id,ts,activity\n" + "a,2024-01-01,x\n" * 4 + "b,2024-01", "utf-8"),
    "cut_cp1252.csv.gz": ("account_id,ts,activity,text\n" + "a,2024-01-01,x,5 €\n" * 4
                          + "b,2024-01", "cp1252"),
    "cut.jsonl.gz": ('{"account_id": "a", "ts": "2024-01-01", "activity": "x"}\n' * 5
                     + '{"account_id": "b", "ts', "utf-8"),
    "cut.xes.gz": ('<?xml version="1.0"?>\n<log>\n<trace>\n<event>\n'
                   '<string key="concept:name" value="x"/>\n<date key="time:timestamp" '
                   'value="2024-01-01T00:00:00"/>', "utf-8"),
}


@pytest.mark.parametrize("name", sorted(CUT_SOURCES))
def test_truncated_gzip_names_its_last_whole_line_and_the_cut_one(ws, tmp_path, name):
    text, encoding = CUT_SOURCES[name]
    # Flushed, so every byte of the text can be read back, and then no end marker.
    compressor = zlib.compressobj(wbits=31)
    path = tmp_path / name
    path.write_bytes(compressor.compress(text.encode(encoding))
                     + compressor.flush(zlib.Z_FULL_FLUSH))
    with pytest.raises(SourceError, match="truncated") as info:
        import_sources(ws, [path])
    assert info.value.line == 6  # the header (or XML declaration) is line 1
    assert "the gzip stream ends early after line 5 (" in str(info.value)


def _many_lines(kind: str) -> str:
    """A text of the kind, varied so that it compresses to many 16 KB chunks (over 1 MB as
    text, past the sample the CSV reader reads first), every line ending in a newline."""
    if kind == "csv":
        return "account_id,ts,activity\n" + "".join(
            f"a{i % 997},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} 10:{i % 60:02d},"
            f"step{i * 7919 % 1000}\n" for i in range(60_000))
    if kind == "jsonl":
        return "".join(f'{{"account_id": "a{i % 997}", "ts": "2024-{i % 12 + 1:02d}-'
                       f'{i % 28 + 1:02d}", "activity": "step{i * 7919 % 1000}"}}\n'
                       for i in range(20_000))
    return '<?xml version="1.0"?>\n<log>\n' + "".join(
        f'<trace>\n<string key="concept:name" value="a{i}"/>\n<event>\n'
        f'<string key="concept:name" value="step{i * 7919 % 1000}"/>\n'
        f'<date key="time:timestamp" value="2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:00:00"/>'
        "\n</event>\n</trace>\n" for i in range(8_000)) + "</log>\n"


KINDS = {"csv": "damaged.csv.gz", "jsonl": "damaged.jsonl.gz", "xes": "damaged.xes.gz"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_corrupt_gzip_names_the_line_where_the_damage_stops_reading(filled, tmp_path, kind):
    text = _many_lines(kind)
    lines = text.splitlines(keepends=True)
    head = "".join(lines[: len(lines) * 2 // 3])
    # A full flush ends the first part byte-aligned; the next byte starts a deflate block, and
    # 0x07 makes it a last block of the reserved type 3: zlib stops there with everything
    # before it decompressed.
    compressor = zlib.compressobj(wbits=31)
    first = compressor.compress(head.encode()) + compressor.flush(zlib.Z_FULL_FLUSH)
    rest = compressor.compress(text[len(head):].encode()) + compressor.flush()
    assert len(first) > 2 * 16384 and len(rest) > 16384
    path = tmp_path / KINDS[kind]
    path.write_bytes(first + b"\x07" + rest[1:])
    whole = head.count("\n")
    before = snapshot(filled)
    with pytest.raises(SourceError) as info:
        import_sources(filled, [path])
    assert info.value.line == whole + 1
    assert (f"the gzip data is corrupt after line {whole} (invalid block type)"
            in str(info.value))
    assert snapshot(filled) == before


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("damage", ["crc", "length", "middle"])
def test_gzip_whose_check_fails_names_its_last_line(filled, tmp_path, kind, damage):
    text = _many_lines(kind).encode()
    if damage == "middle":
        # Stored (level 0) deflate blocks hold the text as it is: a byte changed in the middle
        # changes one character, which only the CRC reveals. Meanwhile the CSV would import
        # with a wrong account, DuckDB fails on the JSON line, and the XES loses a trace name.
        compressor = zlib.compressobj(0, wbits=31)
        data = bytearray(compressor.compress(text) + compressor.flush())
        lines = text.splitlines(keepends=True)
        line = next(x for x in lines[len(lines) // 2:] if data.count(x) == 1)
        data[data.find(line)] = ord("#")
    else:
        data = bytearray(gzip.compress(text, mtime=0))
        # the trailer: CRC-32 (4 bytes), then the length (4 bytes)
        data[-6 if damage == "crc" else -2] ^= 0xFF
    path = tmp_path / KINDS[kind]
    path.write_bytes(bytes(data))
    # What the damaged stream decompresses to (all of it: only the trailer is checked).
    garbled = zlib.decompressobj(wbits=31).decompress(bytes(data[:-8]))
    assert len(garbled) == len(text) and (garbled == text) == (damage != "middle")
    last = text.count(b"\n")
    before = snapshot(filled)
    with pytest.raises(SourceError) as info:
        import_sources(filled, [path])
    assert info.value.line == last
    which = "its length" if damage == "length" else "its CRC-32"
    assert (f"the gzip data is corrupt: it decompresses to the end of line {last}, but the "
            f"check that follows fails ({which} does not match)") in str(info.value)
    assert snapshot(filled) == before


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gzip_with_a_damaged_header_is_not_a_readable_gzip_file(filled, tmp_path, kind):
    data = bytearray(gzip.compress(_many_lines(kind).encode(), mtime=0))
    data[2] = 7  # CM: a compression method other than deflate (8)
    path = tmp_path / KINDS[kind]
    path.write_bytes(bytes(data))
    before = snapshot(filled)
    with pytest.raises(SourceError) as info:
        import_sources(filled, [path])
    assert info.value.line is None
    assert str(info.value) == (f"{path}: the file is not a readable gzip file: its header is "
                               "damaged (unknown compression method); download or export it again")
    assert snapshot(filled) == before


def _cli_workspace(tmp_path: Path) -> tuple[CliRunner, Path]:
    """A workspace with the good events, imported through the CLI."""
    runner = CliRunner()
    workspace = tmp_path / "w.duckdb"
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    assert runner.invoke(app, ["import", str(good), "-w", str(workspace)]).exit_code == 0
    return runner, workspace


def test_cli_exits_4_on_a_corrupt_gzip_and_leaves_the_workspace(tmp_path):
    runner, workspace = _cli_workspace(tmp_path)
    data = bytearray(gzip.compress(_many_lines("csv").encode(), mtime=0))
    data[-6] ^= 0xFF
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(bytes(data))
    result = runner.invoke(app, ["import", str(bad), "-w", str(workspace)])
    assert result.exit_code == 4, result.output
    assert f"error: {bad}: line 60001: the gzip data is corrupt" in result.output
    assert "Traceback" not in result.output
    with Workspace.open(workspace) as ws:
        assert ws.info().events == 1


def test_an_error_after_reading_rolls_back_too(filled, tmp_path):
    # an event whose account cannot be found (no account_id, a contact no export knows) fails
    # in the transaction, after the good source was already saved, and says which row
    path = tmp_path / "orphans.csv"
    path.write_text("contact_id,ts,activity\nc1,2024-01-01,x\nc99,2024-01-02,y\n")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,account_id,email\nc1,acme,ann@acme.com\n")
    good = tmp_path / "more.csv"
    good.write_text("account_id,ts,activity\nnew,2024-05-05,call\n")
    before = snapshot(filled)
    with pytest.raises(SourceError, match="no account") as info:
        import_sources(filled, [good, contacts, path])
    error = info.value
    assert (error.file, error.row, error.column, error.value) == (str(path), 2, "account_id",
                                                                  None)
    assert "value empty: the event has no account: its contact 'c99' has none" in str(error)
    assert snapshot(filled) == before


def test_events_of_free_mail_contacts_are_left_out_and_counted(ws, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,account_id,email\nc1,acme,ann@acme.com\n"
                        "c2,,bob@gmail.com\nc3,,cy@outlook.com\n")
    events = tmp_path / "events.csv"
    events.write_text("contact_id,ts,activity\nc1,2024-01-01,call\nc2,2024-01-02,call\n"
                      "c2,2024-01-03,mail\nc3,2024-01-04,call\nx@yahoo.com,2024-01-05,call\n")
    summary = import_sources(ws, [contacts, events])
    assert summary.events == 1 and summary.skipped_rows == 0
    assert (summary.free_mail_events, summary.free_mail_contacts) == (4, 3)
    assert [s.free_mail for s in summary.sources] == [0, 4]
    assert ("4 events of 3 contacts at free-mail domains have no account and were not "
            "imported; give them an account id to keep them") in summary.notes
    assert ws.con.execute("SELECT account_id, contact_id FROM events").fetchall() == [
        ("acme", "c1")]


def test_skip_bad_rows_imports_the_rest_and_reports(ws, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("account_id,ts,activity,value\na,2024-01-01,x,1\nb,not a date,y,2\n"
                    "c,2024-01-03,,3\nd,2024-01-04,z,four\ne,2024-01-05,w,5\n")
    summary = import_sources(ws, [path], skip_bad_rows=True)
    assert summary.events == 2 and summary.skipped_rows == 3
    assert [s.skipped for s in summary.sources] == [3]
    text = "\n".join(summary.skipped)
    assert "row 2: column ts: value 'not a date'" in text
    assert "row 3: column activity" in text
    assert "row 4: column value: value 'four'" in text
    assert ws.con.execute("SELECT skipped FROM imports").fetchone() == (3,)


def test_cli_error_has_no_traceback_and_leaves_workspace(tmp_path):
    runner, workspace = _cli_workspace(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,ts,activity\na,2024-01-01,x\nb,31/31/2024,y\n")
    result = runner.invoke(app, ["import", str(bad), "-w", str(workspace)])
    assert result.exit_code == 4
    assert f"error: {bad}: row 2: column ts: value '31/31/2024'" in result.output
    assert "Traceback" not in result.output
    with Workspace.open(workspace) as ws:
        assert ws.info().events == 1
    skipped = runner.invoke(app, ["import", str(bad), "-w", str(workspace), "--skip-bad-rows"])
    assert skipped.exit_code == 0, skipped.output
    assert "row 2: column ts: value '31/31/2024'" in skipped.output
    assert "events added" in skipped.output


def test_a_failed_first_import_through_the_python_api_leaves_no_workspace(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,ts,activity\na,2024-01-01,x\nb,31/31/2024,y\n")
    workspace = tmp_path / "new.duckdb"
    with pytest.raises(SourceError, match="31/31/2024"), open_for_import(workspace) as ws:
        assert ws.created
        import_sources(ws, [bad])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no .wal, no .tmp


def test_a_failed_import_through_the_python_api_keeps_an_existing_workspace(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD)
    bad.write_text("account_id,ts,activity\na,2024-01-01,x\nb,31/31/2024,y\n")
    workspace = tmp_path / "w.duckdb"
    with open_for_import(workspace) as ws:
        import_sources(ws, [good])
        before = snapshot(ws)
    with pytest.raises(SourceError, match="31/31/2024"), open_for_import(workspace) as ws:
        assert not ws.created
        import_sources(ws, [bad])
    with Workspace.open(workspace) as ws:
        assert snapshot(ws) == before


def test_the_documented_python_example_leaves_nothing_when_its_first_import_fails(
        tmp_path, monkeypatch):
    # The example reads the Olist files from ../shared/data, as the commands above it do: here
    # two small files in their shape, the leads with a date that is no date.
    folder = tmp_path / "shared" / "data" / "olist_marketing_funnel"
    folder.mkdir(parents=True)
    (folder / "olist_marketing_qualified_leads_dataset.csv").write_text(
        "mql_id,first_contact_date,landing_page_id,origin\nm1,2018-02-01,p1,social\n"
        "m2,2018-02-31,p2,email\n")
    (folder / "olist_closed_deals_dataset.csv").write_text(
        "mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type\n"
        "m1,s1,sdr1,sr1,2018-03-01 10:00:00,pet,online_medium\n")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    with pytest.raises(SourceError, match="2018-02-31"):
        exec(python_example(), {})
    assert list(project.iterdir()) == []


def test_accounts_file_bad_rows_are_located_or_skipped(ws, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name,value\nacme,Acme,100\nacme,,lots\n,Nobody,5\nhooli,Hooli,7\n")
    with pytest.raises(SourceError) as info:
        import_sources(ws, [path])
    assert (info.value.row, info.value.column, info.value.value) == (2, "value", "lots")
    summary = import_sources(ws, [path], skip_bad_rows=True)
    assert summary.skipped_rows == 2 and summary.sources[0].rows == 4  # read, skipped ones too
    assert (summary.sources[0].added, summary.sources[0].duplicates) == (2, 0)
    assert ws.con.execute("SELECT account_id, name, value FROM accounts ORDER BY 1").fetchall() \
        == [("acme", "Acme", 100.0), ("hooli", "Hooli", 7.0)]


def test_skipped_events_without_an_account_are_each_located_and_counted_as_read(ws, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("contact_id,account_id,email\nc1,acme,ann@acme.com\n")
    events = tmp_path / "events.csv"
    events.write_text("contact_id,ts,activity\nc1,2024-01-01,call\nc99,2024-01-02,call\n"
                      ",2024-01-03,visit\nc1,2024-01-04,mail\n")
    summary = import_sources(ws, [contacts, events], skip_bad_rows=True)
    # Row 3 breaks a rule the reader checks; row 2's contact is known only to be unknown
    # once the contacts are in: both are located.
    assert summary.skipped == [
        f"{events}: row 3: column account_id: is empty: every event needs an account (or a "
        "contact to find it by)",
        f"{events}: row 2: column account_id: value empty: the event has no account: its "
        "contact 'c99' has none and none could be found from an e-mail domain"]
    source = summary.sources[1]
    assert (source.rows, source.added, source.skipped) == (4, 2, 2)
    assert ws.con.execute("SELECT rows, added, skipped FROM imports WHERE source = ?",
                          [str(events)]).fetchone() == (4, 2, 2)
