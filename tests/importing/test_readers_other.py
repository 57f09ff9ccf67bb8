"""Parquet and JSON Lines reading, format recognition, and column mapping files."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyscope.events.errors import MappingError, SourceError
from journeyscope.events.readers import (
    ColumnMapping,
    builtin_mappings,
    detect_format,
    load_mapping,
    read_source,
    sniff_format,
)
from journeyscope.events.readers.mapping import parse_mapping


def test_parquet_typed_timestamps_become_utc(con, tmp_path):
    table = pa.table({
        "account_id": ["a", "b"],
        "ts": pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                        dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)],
                       type=pa.timestamp("us", tz="UTC")),
        "activity": ["x", "y"],
        "value": pa.array([1, None], type=pa.int64()),
        "extra": [1.5, None],
    })
    path = tmp_path / "e.parquet"
    pq.write_table(table, path)
    staged = read_source(con, path)
    assert con.execute(f"SELECT account_id, ts, value, attributes FROM {staged.events} "
                       "ORDER BY ts").fetchall() == [
        ("a", dt.datetime(2024, 1, 1, 10), 1.0, '{"extra":1.5}'),
        ("b", dt.datetime(2024, 1, 2, 12), None, None)]


def test_parquet_bad_row_is_located_by_its_row_number(con, tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"account_id": ["a", "b", "c"], "ts": ["2024-01-01", "never",
                                                                   "2024-01-03"],
                             "activity": ["x", "y", "z"]}), path)
    with pytest.raises(SourceError) as info:
        read_source(con, path)
    assert (info.value.row, info.value.column, info.value.value) == (2, "ts", "never")


def test_jsonl_keeps_nested_values_as_json_and_reads_offsets(con, write):
    lines = [{"account_id": "a", "ts": "2024-01-01T10:00:00+02:00", "activity": "x",
              "meta": {"k": [1, 2]}},
             {"account_id": "b", "ts": "2024-01-02T10:00:00Z", "activity": "y", "score": 9}]
    staged = read_source(con, write("e.jsonl", "\n".join(json.dumps(x) for x in lines)))
    got = con.execute(f"SELECT account_id, ts, score, attributes FROM {staged.events} "
                      "ORDER BY ts").fetchall()
    assert got[0][:3] == ("a", dt.datetime(2024, 1, 1, 8), None)
    assert json.loads(got[0][3]) == {"meta": {"k": [1, 2]}}
    assert got[1][:3] == ("b", dt.datetime(2024, 1, 2, 10), 9.0)


def test_malformed_jsonl_is_located_by_line(con, write):
    text = '{"account_id": "a", "ts": "2024-01-01", "activity": "x"}\n{"account_id": \n'
    with pytest.raises(SourceError, match="not valid JSON Lines") as info:
        read_source(con, write("e.jsonl", text))
    assert info.value.line == 2


@pytest.mark.parametrize(("name", "fmt"), [
    ("a.csv", "csv"), ("a.CSV.gz", "csv"), ("a.tsv", "csv"), ("a.parquet", "parquet"),
    ("a.jsonl", "jsonl"), ("a.ndjson.gz", "jsonl"), ("a.xes", "xes"), ("a.xes.gz", "xes"),
    ("a.bin", None),
])
def test_format_from_name(name, fmt):
    assert detect_format(__import__("pathlib").Path(name)) == fmt


def test_format_from_content(write, tmp_path):
    assert sniff_format(write("x", "<?xml version='1.0'?><log/>")) == "xes"
    assert sniff_format(write("y", '{"a": 1}\n')) == "jsonl"
    assert sniff_format(write("z.gz", "a,b\n1,2\n")) == "csv"
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p")
    assert sniff_format(tmp_path / "p") == "parquet"


def test_mapping_file_picks_a_section_by_file_name():
    mapping = parse_mapping("""
journeyscope-mapping: 1
timezone: Europe/Berlin
columns: {account_id: company}
sources:
  - files: "*leads*"
    events:
      columns: {account_id: lead_id}
      constants: {activity: lead}
""")
    assert mapping.for_file("/x/all_leads.csv").events.columns == {"account_id": "lead_id"}
    assert mapping.for_file("/x/other.csv").events.columns == {"account_id": "company"}
    assert mapping.for_file("/x/other.csv").timezone == "Europe/Berlin"


def test_flags_override_a_mapping_file():
    mapping = parse_mapping("columns: {account_id: a, owner: o}\nconstants: {source: s}")
    merged = mapping.with_overrides(ColumnMapping.from_flags(["source=src_col"], ["owner=x"]))
    events = merged.for_file("f.csv").events
    assert events.columns == {"account_id": "a", "source": "src_col"}
    assert events.constants == {"owner": "x"}


@pytest.mark.parametrize(("text", "message"), [
    ("columns: {acount_id: a}", "did you mean 'account_id'"),
    ("colums: {account_id: a}", "unknown key"),
    ("journeyscope-mapping: 7\ncolumns: {account_id: a}", "not a known version"),
    ("- a\n- b", "YAML object"),
    ("columns: {account_id: a}\nconstants: {account_id: b}", "both a column and a constant"),
    ("sources: [{events: {columns: {ts: t}}}]", "files:"),
    ("columns: [a: b", "not a readable YAML"),
])
def test_bad_mapping_files_say_what_is_wrong(text, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(text, "m.yaml")


def test_bad_flag_says_how_to_write_it():
    with pytest.raises(MappingError, match="CANONICAL=VALUE"):
        ColumnMapping.from_flags(["account_id"])


def test_olist_mapping_is_shipped():
    assert "olist" in builtin_mappings()
    mapping = load_mapping("olist")
    assert mapping.for_file("olist_closed_deals_dataset.csv").events.columns["owner"] == "sr_id"
    leads = mapping.for_file("olist_marketing_qualified_leads_dataset.csv")
    assert leads.join is not None and leads.join.on == "mql_id"


def test_mapped_column_missing_from_the_file_is_named(con, events_csv):
    with pytest.raises(SourceError, match="did you mean 'owner'") as info:
        read_source(con, events_csv, mapping=ColumnMapping.from_flags(["owner=ownr"]))
    assert info.value.column == "ownr"


def test_join_adds_columns_looked_up_by_key(con, write):
    write("deals.csv", "lead,rep\nl1,Rita\nl1,Rita\n")
    leads = write("leads.csv", "lead,day\nl1,2024-01-01\nl2,2024-01-02\n")
    mapping = parse_mapping("""
join: {file: deals.csv, on: lead, columns: [rep]}
columns: {account_id: lead, ts: day, owner: rep}
constants: {activity: lead_created}
""").for_file(leads)
    staged = read_source(con, leads, mapping=mapping)
    assert con.execute(f"SELECT account_id, owner FROM {staged.events} ORDER BY 1").fetchall() \
        == [("l1", "Rita"), ("l2", None)]
