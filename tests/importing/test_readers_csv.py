"""CSV reading: dialect, quoting, encodings, timestamp formats and zones, mappings."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from journeyscope.events.errors import SourceError
from journeyscope.events.readers import ColumnMapping, read_source


def rows(con, staged, columns="account_id, ts, activity"):
    return con.execute(f"SELECT {columns} FROM {staged.events} ORDER BY ts").fetchall()


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(con, write, delimiter):
    text = delimiter.join(["account_id", "ts", "activity", "owner"]) + "\n"
    text += delimiter.join(["a1", "2024-01-01 10:00:00", "call", "Smith, J."
                            if delimiter != "," else '"Smith, J."']) + "\n"
    staged = read_source(con, write("e.csv", text))
    assert rows(con, staged, "account_id, activity, owner") == [("a1", "call", "Smith, J.")]


def test_quoted_fields_keep_delimiters_quotes_and_newlines(con, write):
    text = ('account_id,ts,activity,text\n'
            'a1,2024-01-01,note,"He said ""no"", then\nleft"\n'
            'a2,2024-01-02,note,plain\n')
    staged = read_source(con, write("e.csv", text))
    assert rows(con, staged, "text") == [('He said "no", then\nleft',), ("plain",)]


def test_utf8_with_bom_utf16_and_latin1_read_the_same(con, write):
    text = "account_id,ts,activity\nMüller GmbH,2024-01-01,Anruf über Zentrale\n"
    expected = [("Müller GmbH", "Anruf über Zentrale")]
    for name, data in [("bom.csv", b"\xef\xbb\xbf" + text.encode()),
                       ("u16.csv", text.encode("utf-16")),
                       ("l1.csv", text.encode("latin-1"))]:
        staged = read_source(con, write(name, data))
        assert rows(con, staged, "account_id, activity") == expected, name


def test_cp1252_is_transcoded(con, write):
    text = "account_id,ts,activity,text\n" + "acme,2024-01-01,quote,“Preis” 5 € – fair\n" * 3
    staged = read_source(con, write("cp.csv", text.encode("cp1252")))
    assert rows(con, staged, "text")[0] == ("“Preis” 5 € – fair",)


FRENCH = ("account_id,ts,activity,comment\na,2024-01-01,demo,très bien café\n"
          "b,2024-01-02,trial,déçu\n")


@pytest.mark.parametrize(("text", "codec", "guess"), [
    (FRENCH, "latin-1", "cp1252"),
    (FRENCH, "cp1252", "cp1252"),
    ("account_id,ts,activity,text\nacme,2024-01-01,quote,“Preis” 5 € – don’t\n", "cp1252",
     "cp1252"),
    ("account_id,ts,activity,text\nacme,2024-01-01,call,Привет мир, как дела\n", "cp1251",
     "cp1251"),
    ("account_id,ts,activity,text\nacme,2024-01-01,call,Zażółć gęślą jaźń łódź\n", "cp1250",
     "cp1250"),
])
def test_a_guessed_encoding_is_windows_1252_unless_the_bytes_say_otherwise(text, codec, guess):
    from journeyscope.events.readers.textfile import detect_encoding

    assert detect_encoding(text.encode(codec), file="e.csv") == guess


def test_latin1_export_is_read_as_written(con, write):
    staged = read_source(con, write("fr.csv", FRENCH.encode("latin-1")))
    comments = rows(con, staged, "json_extract_string(attributes, '$.comment')")
    assert comments == [("très bien café",), ("déçu",)]


def test_gzipped_csv_is_read(con, write):
    staged = read_source(con, write("e.csv.gz", "account_id,ts,activity\na,2024-01-01,x\n"))
    assert staged.rows == 1


def test_offsets_are_converted_to_utc(con, write):
    text = ("account_id,ts,activity\n"
            "a,2011-10-11 13:45:40.276+02:00,x\n"
            "a,2011-10-11T13:45:40Z,y\n"
            "a,2011-10-11 08:00:00-05:00,z\n")
    staged = read_source(con, write("e.csv", text))
    got = {r[2]: r[1] for r in rows(con, staged)}
    assert got == {"x": dt.datetime(2011, 10, 11, 11, 45, 40, 276000),
                   "y": dt.datetime(2011, 10, 11, 13, 45, 40),
                   "z": dt.datetime(2011, 10, 11, 13, 0, 0)}


def test_a_trailing_z_is_utc_in_every_iso_form(con, write):
    text = ("account_id,ts,activity\n"
            "a,2011-10-11 13:45:40Z,plain\n"
            "a,2011-10-11T13:45:40.5Z,fraction\n"
            "a,2011-10-11 13:45Z,minutes\n"
            "a,2011-10-11Z,date\n")
    staged = read_source(con, write("e.csv", text), mapping=ColumnMapping(
        timezone="Europe/Amsterdam"))  # a Z says UTC whatever the mapping's zone
    got = {r[2]: r[1] for r in rows(con, staged)}
    assert got == {"plain": dt.datetime(2011, 10, 11, 13, 45, 40),
                   "fraction": dt.datetime(2011, 10, 11, 13, 45, 40, 500000),
                   "minutes": dt.datetime(2011, 10, 11, 13, 45),
                   "date": dt.datetime(2011, 10, 11)}


def test_naive_timestamps_take_the_mapping_time_zone(con, write):
    path = write("e.csv", "account_id,ts,activity\na,2024-07-01 12:00:00,x\n"
                          "a,2024-01-15 12:00:00+00:00,y\n")
    staged = read_source(con, path, mapping=ColumnMapping(timezone="Europe/Amsterdam"))
    got = {r[2]: r[1] for r in rows(con, staged)}
    assert got["x"] == dt.datetime(2024, 7, 1, 10, 0)  # CEST is UTC+2
    assert got["y"] == dt.datetime(2024, 1, 15, 12, 0)  # an explicit offset wins


@pytest.mark.parametrize(("values", "expected"), [
    (["31/01/2024 14:05", "01/02/2024 09:00"], dt.datetime(2024, 1, 31, 14, 5)),
    (["01/31/2024 14:05:09", "02/01/2024 09:00:00"], dt.datetime(2024, 1, 31, 14, 5, 9)),
    (["31.01.2024", "01.02.2024"], dt.datetime(2024, 1, 31)),
    (["1706709900", "1706774400"], dt.datetime(2024, 1, 31, 14, 5)),
    (["1706709900000", "1706774400000"], dt.datetime(2024, 1, 31, 14, 5)),
    (["2024/01/31 14:05:00", "2024/02/01 09:00:00"], dt.datetime(2024, 1, 31, 14, 5)),
    (['"Wed, 31 Jan 2024 14:05:00 +0100"', '"Thu, 01 Feb 2024 09:00:00 +0100"'],
     dt.datetime(2024, 1, 31, 13, 5)),
    (['"Wed, 31 Jan 2024 14:05:00 GMT"', '"Thu, 01 Feb 2024 09:00:00 GMT"'],
     dt.datetime(2024, 1, 31, 14, 5)),
])
def test_timestamp_format_is_detected(con, write, values, expected):
    text = "account_id,ts,activity\n" + "".join(f"a,{v},x{i}\n" for i, v in enumerate(values))
    staged = read_source(con, write("e.csv", text))
    assert rows(con, staged)[0][1] == expected


def test_rfc_2822_zone_names_are_fixed_offsets_mixed_with_numeric_ones(con, write):
    # July, so that a zone read with daylight saving (CST as Chicago's) would be an hour off.
    zones = {"+0100": 13, "-0230": 16.5, "UT": 14, "GMT": 14, "Z": 14, "gmt": 14,
             "EST": 19, "EDT": 18, "CST": 20, "CDT": 19,
             "MST": 21, "MDT": 20, "PST": 22, "PDT": 21}
    text = "account_id,ts,activity\n" + "".join(
        f"a,\"Mon, 01 Jul 2024 14:00:00 {zone}\",{zone}\n" for zone in zones)
    staged = read_source(con, write("e.csv", text))
    got = {r[2]: r[1] for r in rows(con, staged)}
    assert got == {zone: dt.datetime(2024, 7, 1) + dt.timedelta(hours=hours)
                   for zone, hours in zones.items()}


def test_day_or_month_first_ambiguity_asks_for_a_format(con, write):
    path = write("e.csv", "account_id,ts,activity\na,01/02/2024,x\na,03/04/2024,y\n")
    with pytest.raises(SourceError, match="day-first or month-first") as info:
        read_source(con, path)
    assert info.value.column == "ts"
    staged = read_source(con, path, mapping=ColumnMapping(timestamp_format="%m/%d/%Y"))
    assert rows(con, staged)[0][1] == dt.datetime(2024, 1, 2)


def test_unmapped_columns_are_kept_as_sorted_json_attributes(con, write):
    path = write("e.csv", "zeta,account_id,ts,activity,alpha,empty\n1,a,2024-01-01,x,two,\n")
    staged = read_source(con, path)
    (attributes,) = con.execute(f"SELECT attributes FROM {staged.events}").fetchone()
    assert attributes == '{"alpha":"two","zeta":"1"}'
    assert list(json.loads(attributes)) == ["alpha", "zeta"]


def test_mapping_flags_map_columns_and_constants(con, write):
    path = write("leads.csv", "mql_id,first_contact_date,origin\nm1,2018-02-01,social\n")
    mapping = ColumnMapping.from_flags(
        ["account_id=mql_id", "ts=first_contact_date", "channel=origin"],
        ["activity=first_contact", "source=olist"])
    staged = read_source(con, path, mapping=mapping)
    assert con.execute(f"SELECT account_id, activity, channel, source, attributes "
                       f"FROM {staged.events}").fetchall() == [
        ("m1", "first_contact", "social", "olist", None)]


def test_source_defaults_to_the_file_name(con, events_csv):
    staged = read_source(con, events_csv)
    assert {r[0] for r in con.execute(f"SELECT source FROM {staged.events}").fetchall()} == {
        "events.csv"}


def test_flattened_xes_columns_map_by_themselves(con, write):
    path = write("flat.csv", "case:concept:name,concept:name,time:timestamp,org:resource\n"
                             "c1,Submit,2011-10-01T00:38:44.546+02:00,112\n")
    staged = read_source(con, path)
    assert rows(con, staged, "account_id, activity, owner") == [("c1", "Submit", "112")]


def test_numbers_and_blank_texts(con, events_csv):
    staged = read_source(con, events_csv)
    got = con.execute(f"SELECT account_id, value, persona FROM {staged.events} "
                      "ORDER BY ts").fetchall()
    assert got == [("acme", None, None), ("acme", None, None), ("globex", 12000.5, None)]


def test_accounts_file_is_recognised_by_its_columns(con, write):
    path = write("accounts.csv", "account_id,name,segment,value\nacme,Acme Corp,enterprise,5e4\n"
                                 "acme,,,\n")
    staged = read_source(con, path)
    assert staged.events is None and staged.accounts is not None
    assert con.execute(f"SELECT account_id, name, segment, value FROM {staged.accounts}"
                       ).fetchall() == [("acme", "Acme Corp", "enterprise", 50000.0)]


def test_contacts_file_is_recognised_by_its_columns(con, write):
    path = write("contacts.csv", "contact_id,account_id,email,title\nc1,acme,a@acme.com,CIO\n")
    staged = read_source(con, path)
    assert staged.contacts is not None and staged.events is None
    assert con.execute(f"SELECT contact_id, title FROM {staged.contacts}").fetchall() == [
        ("c1", "CIO")]
