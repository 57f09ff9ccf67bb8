"""Data into a workspace over the API: a real event log uploaded and imported (with progress),
a broken file refused all or nothing, and the map measured on it, cached per version."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
HELPDESK_MAP = ROOT / "data" / "crm" / "helpdesk-map.yaml"


def _helpdesk_map(owner, workspace: int) -> int:
    answer = owner.post(f"/api/workspaces/{workspace}/maps/import",
                        json={"text": HELPDESK_MAP.read_text(), "format": "yaml"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _upload(app, owner, workspace: int, name: str, content: bytes, map_id: int | None):
    data = {"map_id": str(map_id)} if map_id else {}
    answer = owner.post(f"/api/workspaces/{workspace}/imports", data=data,
                        files=[("files", (name, content, "application/octet-stream"))])
    assert answer.status_code == 202, answer.text
    import_id = answer.json()["id"]
    app.state.uploads.wait(import_id, timeout=300)
    return owner.get(f"/api/workspaces/{workspace}/imports/{import_id}").json()


def _events(app, workspace: int) -> int:
    path = app.state.settings.data_dir / "workspaces" / str(workspace) / "events.duckdb"
    if not path.exists():
        return 0
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]


def test_real_event_log_is_imported_and_measured(app, owner, workspace: int,
                                                 shared_data: Path) -> None:
    map_id = _helpdesk_map(owner, workspace)
    log = (shared_data / "event_logs" / "helpdesk.xes.gz").read_bytes()
    done = _upload(app, owner, workspace, "helpdesk.xes.gz", log, map_id)
    assert done["status"] == "done", done["message"]
    assert done["events"] == 21_348 == _events(app, workspace)
    assert owner.get(f"/api/workspaces/{workspace}").json()["data_version"] == 1
    result = owner.get(f"/api/maps/{map_id}/analysis").json()
    assert result["data_version"] == 1
    assert result["meta"]["events"] == 21_348
    stats = {r["touchpoint"]: r for r in result["tables"]["touchpoints.stats"]}
    assert stats["ticket-intake"]["accounts"] > 4000
    again = owner.get(f"/api/maps/{map_id}/analysis").json()
    assert again == result  # from the cache
    with app.state.db.read() as s:
        from sqlalchemy import text

        assert s.execute(text("SELECT count(*) FROM analysis_cache")).scalar() == 1
    # The same file again adds nothing (event keys) but is a new data version.
    second = _upload(app, owner, workspace, "helpdesk.xes.gz", log, map_id)
    assert second["status"] == "done"
    assert _events(app, workspace) == 21_348


def test_broken_file_fails_the_import_and_changes_nothing(app, owner, workspace: int,
                                                          shared_data: Path) -> None:
    map_id = _helpdesk_map(owner, workspace)
    good = _upload(app, owner, workspace, "helpdesk.xes.gz",
                   (shared_data / "event_logs" / "helpdesk.xes.gz").read_bytes(), map_id)
    assert good["status"] == "done"
    truncated = gzip.compress(b"<log><trace>")[:-6]
    bad = _upload(app, owner, workspace, "broken.xes.gz", truncated, map_id)
    assert bad["status"] == "failed"
    assert "broken.xes.gz" in bad["message"]
    assert str(app.state.settings.data_dir) not in bad["message"]
    assert _events(app, workspace) == 21_348
    assert owner.get(f"/api/workspaces/{workspace}").json()["data_version"] == 1
    missing = _upload(app, owner, workspace, "events.csv", b"who,when\nx,2024-01-01\n", map_id)
    assert missing["status"] == "failed"
    assert _events(app, workspace) == 21_348


def test_a_failed_first_upload_leaves_no_workspace_file(app, owner, workspace: int) -> None:
    path = app.state.settings.data_dir / "workspaces" / str(workspace) / "events.duckdb"
    bad = _upload(app, owner, workspace, "events.csv",
                  b"account_id,ts,activity\na,2024-01-01,x\nb,31/31/2024,y\n", None)
    assert bad["status"] == "failed" and "row 2: column ts" in bad["message"]
    assert not path.exists() and not path.with_name(path.name + ".wal").exists()
    assert owner.get(f"/api/workspaces/{workspace}").json()["data_version"] == 0


def test_upload_refuses_unknown_file_types_and_viewers(app, owner, workspace: int) -> None:
    from tests.web.conftest import join

    answer = owner.post(f"/api/workspaces/{workspace}/imports",
                        files=[("files", ("evil.exe", b"MZ", "application/octet-stream"))])
    assert answer.status_code == 422
    assert "evil.exe: upload CSV, Parquet" in answer.json()["detail"][0]["msg"]
    viewer = join(app, owner, workspace, "viewer@example.com", "viewer")
    answer = viewer.post(f"/api/workspaces/{workspace}/imports",
                         files=[("files", ("e.csv", b"a,b\n", "text/csv"))])
    assert answer.status_code == 403


def test_analysis_without_data_says_so(owner, map_id: int) -> None:
    result = owner.get(f"/api/maps/{map_id}/analysis").json()
    assert result["data_version"] == 0
    assert "No data" in result["message"]
    bad = owner.get(f"/api/maps/{map_id}/analysis", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "since"]


def _meta_events(html: str) -> int:
    found = re.search(r'id="dashboard-meta">([\d,]+) events', html)
    assert found, html[:2000]
    return int(found.group(1).replace(",", ""))


def test_dashboard_filters_by_segment_persona_and_period(app, owner, workspace: int,
                                                         map_id: int, tmp_path: Path) -> None:
    from tests.web.conftest import browser_client

    from journeyscope.events.demo import generate
    from journeyscope.model.templates import new_map

    files = generate(150, seed=3, out_dir=tmp_path / "demo", journey_map=new_map("x", "b2b"))
    answer = owner.post(f"/api/workspaces/{workspace}/imports", data={"map_id": str(map_id)},
                        files=[("files", (name, files.files[name].read_bytes()))
                               for name in ("events.parquet", "accounts.csv", "contacts.csv")])
    app.state.uploads.wait(answer.json()["id"], timeout=300)
    web = browser_client(app, "owner@example.com")
    page = web.get(f"/maps/{map_id}/dashboard").text
    total = _meta_events(page)
    segments = re.findall(r'<option>([^<]+)</option>', page.split('name="segment"')[1]
                          .split("</select>")[0])
    assert len(segments) >= 2
    one = _meta_events(web.get(f"/maps/{map_id}/dashboard", params={"segment": segments[0]}).text)
    persona = _meta_events(web.get(f"/maps/{map_id}/dashboard",
                                   params={"persona": "champion"}).text)
    recent = _meta_events(web.get(f"/maps/{map_id}/dashboard",
                                  params={"since": "2026-01-01"}).text)
    assert 0 < one < total and 0 < persona < total and 0 < recent < total
    unknown = web.get(f"/maps/{map_id}/dashboard", params={"segment": "<nobody>"}).text
    assert "no account has it" in unknown and "<nobody>" not in unknown


# -- messages in the web's terms ---------------------------------------------------------------


def test_every_command_line_hint_has_web_words() -> None:
    from journeyscope.hints import HINTS
    from journeyscope.web.messages import WEB_WORDS

    assert set(HINTS) == set(WEB_WORDS)
    assert not [w for w in WEB_WORDS.values() if "--" in w]


def test_bad_rows_of_an_upload_are_explained_in_web_terms(app, owner, workspace: int) -> None:
    bad = _upload(app, owner, workspace, "events.csv", b"account_id,ts,activity\n"
                  b"a,2024-01-01,x\nb,31/31/2024,y\nc,32/32/2024,z\n", None)
    assert bad["status"] == "failed"
    assert "row 2: column ts" in bad["message"]
    assert "(1 more bad row after it; correct or remove them in the file and upload it " \
           "again)" in bad["message"]
    assert "--" not in bad["message"]
    missing = _upload(app, owner, workspace, "events.csv", b"account_id,when,activity\n"
                      b"a,2024-01-01,x\n", None)
    assert missing["status"] == "failed"
    assert "--" not in missing["message"]
    assert "rename one of the file's columns to ts and upload it again" in missing["message"]


def test_analysis_filter_errors_name_the_query_parameter(app, owner, workspace: int,
                                                         map_id: int) -> None:
    answer = owner.post(f"/api/workspaces/{workspace}/imports", files=[
        ("files", ("events.csv", b"account_id,ts,activity\na,2024-01-01,x\nb,2024-01-02,y\n")),
        ("files", ("accounts.csv", b"account_id,segment\na,smb\nb,enterprise\n"))])
    app.state.uploads.wait(answer.json()["id"], timeout=300)
    assert owner.get(f"/api/workspaces/{workspace}").json()["data_version"] == 1
    bad = owner.get(f"/api/maps/{map_id}/analysis", params={"segment": "nosuch"})
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert detail[0]["loc"] == ["query", "segment"]
    assert detail[0]["msg"].startswith("segment 'nosuch': no account has it; the segments "
                                       "are: enterprise, smb")
    persona = owner.get(f"/api/maps/{map_id}/analysis", params={"persona": "nosuch"})
    assert persona.json()["detail"][0]["loc"] == ["query", "persona"]
    assert "--" not in persona.json()["detail"][0]["msg"]
    backwards = owner.get(f"/api/maps/{map_id}/analysis",
                          params={"since": "2027-01-01", "until": "2020-01-01"})
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "since"]


def test_upload_takes_every_file_type_the_importer_recognises(app, owner, workspace: int,
                                                               tmp_path: Path) -> None:
    parquet = tmp_path / "events.pq"
    with duckdb.connect() as con:
        con.execute("COPY (SELECT * FROM (VALUES ('a', TIMESTAMP '2024-01-01', 'demo'), "
                    "('b', TIMESTAMP '2024-01-02', 'trial')) t(account_id, ts, activity)) "
                    f"TO '{parquet}' (FORMAT parquet)")
    done = _upload(app, owner, workspace, "events.pq", parquet.read_bytes(), None)
    assert done["status"] == "done", done["message"]
    assert done["events"] == 2 == _events(app, workspace)
    tab = _upload(app, owner, workspace, "more.tab",
                  b"account_id\tts\tactivity\nc\t2024-01-03\tdemo\n", None)
    assert tab["status"] == "done", tab["message"]
    assert _events(app, workspace) == 3
    xes = (b'<?xml version="1.0"?><log xes.version="1.0"><trace>'
           b'<string key="concept:name" value="d"/><event><string key="concept:name" '
           b'value="demo"/><date key="time:timestamp" value="2024-01-04T00:00:00"/></event>'
           b"</trace></log>")
    assert _upload(app, owner, workspace, "log.xml", xes, None)["status"] == "done"
    assert _events(app, workspace) == 4
    refused = owner.post(f"/api/workspaces/{workspace}/imports",
                         files=[("files", ("notes.yaml", b"a: 1\n", "text/yaml"))])
    assert refused.status_code == 422
    message = refused.json()["detail"][0]["msg"]
    assert message.startswith("notes.yaml: upload CSV, Parquet, JSON Lines or XES event files")
    assert ".pq" in message and ".xml" in message


def test_an_upload_in_a_guessed_encoding_says_so_in_its_notes(app, owner, workspace: int) -> None:
    text = ("account_id,ts,activity,comment\na,2024-01-01,demo,très bien café\n"
            "b,2024-01-02,trial,déçu\n")
    done = _upload(app, owner, workspace, "fr.csv", text.encode("latin-1"), None)
    assert done["status"] == "done", done["message"]
    path = app.state.settings.data_dir / "workspaces" / str(workspace) / "events.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT attributes->>'comment' FROM events ORDER BY ts"
                           ).fetchall() == [("très bien café",), ("déçu",)]
    assert ("fr.csv: read as Windows-1252 (guessed); if that is wrong, save the file as UTF-8 "
            "and upload it again") in done["sources"]["notes"]
    from tests.web.conftest import browser_client

    page = browser_client(app, "owner@example.com").get(f"/workspaces/{workspace}").text
    assert "read as Windows-1252 (guessed)" in page
