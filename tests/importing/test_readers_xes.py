"""XES: the streaming parser, its mapping onto canonical columns, and its defences."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from journeyscope.events.errors import SourceError
from journeyscope.events.readers import read_source

LOG = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <string key="log-level" value="ignored"/>
  <trace>
    <string key="concept:name" value="acme"/>
    <int key="employees" value="120"/>
    <event>
      <string key="concept:name" value="demo_held"/>
      <string key="org:resource" value="Ann"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00.000+01:00"/>
      <float key="amount" value="12.5"/>
      <boolean key="urgent" value="true"/>
      <list key="tags"><values><string key="tag" value="nested"/></values></list>
    </event>
    <event>
      <date key="time:timestamp" value="2024-03-02T10:00:00Z"/>
      <string key="concept:name" value="deal_won"/>
      <string key="note" value="a &amp; b &lt;c&gt;"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="call"/>
      <date key="time:timestamp" value="2024-03-03T10:00:00+00:00"/>
    </event>
    <string key="concept:name" value="globex"/>
  </trace>
</log>
"""


def events(con, staged):
    return con.execute(f"SELECT account_id, ts, activity, owner, attributes FROM "
                       f"{staged.events} ORDER BY ts").fetchall()


def test_xes_maps_trace_and_event_attributes(con, write):
    staged = read_source(con, write("log.xes", LOG))
    got = events(con, staged)
    assert [(a, t, act, o) for a, t, act, o, _ in got] == [
        ("acme", dt.datetime(2024, 3, 1, 9, 0), "demo_held", "Ann"),
        ("acme", dt.datetime(2024, 3, 2, 10, 0), "deal_won", None),
        ("globex", dt.datetime(2024, 3, 3, 10, 0), "call", None),
    ]
    first = json.loads(got[0][4])
    # typed values stay typed; trace attributes are prefixed case:; nested ones are not kept
    assert first == {"amount": 12.5, "case:employees": 120, "urgent": True}
    assert json.loads(got[1][4]) == {"case:employees": 120, "note": "a & b <c>"}
    assert got[2][4] is None  # a trace attribute written after the events still names the trace


def test_gzipped_xes_reads_the_same(con, write):
    plain = events(con, read_source(con, write("a.xes", LOG)))
    zipped = events(con, read_source(con, write("a.xes.gz", LOG)))
    assert plain == zipped


def test_an_event_without_timestamp_is_located_by_line(con, write):
    broken = LOG.replace('<date key="time:timestamp" value="2024-03-02T10:00:00Z"/>', "")
    with pytest.raises(SourceError) as info:
        read_source(con, write("log.xes", broken))
    assert (info.value.line, info.value.column) == (17, "ts")
    assert "needs a timestamp" in str(info.value)


def test_skip_bad_rows_reports_the_event_line(con, write):
    broken = LOG.replace("2024-03-02T10:00:00Z", "yesterday")
    staged = read_source(con, write("log.xes", broken), skip_bad_rows=True)
    assert staged.rows == 2 and staged.skipped_rows == 1
    assert "line 17: column ts: value 'yesterday'" in staged.skipped[0]


def test_external_entities_are_refused(con, write, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = LOG.replace('<?xml version="1.0" encoding="UTF-8"?>',
                          f'<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY x SYSTEM '
                          f'"file://{secret}">]>').replace('value="Ann"', 'value="&x;"')
    with pytest.raises(SourceError, match="document type") as info:
        read_source(con, write("evil.xes", hostile))
    assert info.value.line == 2
    assert "TOP-SECRET" not in str(info.value)


def test_billion_laughs_is_refused_before_expansion(con, write):
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    hostile = (f'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY l0 "lol">{lol}]>'
               '<log><trace><string key="concept:name" value="&l9;"/></trace></log>')
    with pytest.raises(SourceError, match="document type"):
        read_source(con, write("lol.xes", hostile))


def test_undeclared_entity_is_not_well_formed(con, write):
    with pytest.raises(SourceError, match="entity") as info:
        read_source(con, write("e.xes", LOG.replace('value="Ann"', 'value="&nbsp;"')))
    assert info.value.line == 11  # the org:resource line


def test_truncated_gzip_is_located(con, write, tmp_path):
    data = gzip.compress(LOG.encode() * 1)
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated|ends early") as info:
        read_source(con, path)
    assert info.value.line is not None


def test_truncated_xml_is_reported(con, write):
    with pytest.raises(SourceError, match="not well-formed|ends before"):
        read_source(con, write("cut.xes", LOG[: len(LOG) // 2]))


def test_giant_value_is_refused_at_the_limit(con, write, small_line_limit):
    huge = LOG.replace('value="Ann"', 'value="' + "A" * 50_000 + '"')
    with pytest.raises(SourceError, match="no element ends within 1000 bytes"):
        read_source(con, write("big.xes", huge))


def test_a_log_without_events_says_so(con, write):
    with pytest.raises(SourceError, match="no events"):
        read_source(con, write("empty.xes", '<log xmlns="http://www.xes-standard.org/"/>'))


def test_derived_journeyscope_attributes_are_not_kept(con, write):
    text = LOG.replace('<float key="amount" value="12.5"/>',
                       '<string key="journeyscope:stage" value="decision"/>')
    got = events(con, read_source(con, write("log.xes", text)))
    assert "journeyscope:stage" not in got[0][4]
