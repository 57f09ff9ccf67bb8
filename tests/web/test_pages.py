"""The editor's forms in process: every change posts its base version and answers the
re-rendered editor; stages, personas, details, review, YAML, variants, future state, history,
restore and comments."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import browser_client


@pytest.fixture
def web(app, map_id: int):  # type: ignore[no-untyped-def]
    return browser_client(app, "owner@example.com")


def _post(web, path: str, **data: str):  # type: ignore[no-untyped-def]
    return web.post(path, data=data, headers={"X-CSRF-Token": web.csrf, "HX-Request": "true"})


def _version(html: str) -> int:
    return int(re.search(r'id="editor"[^>]*data-version="(\d+)"', html).group(1))


def test_touchpoint_form_saves_every_field(owner, web, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/touchpoints/online-research", base_version="1",
                   name="Online research", stage="consideration", channels="web, search",
                   owner="marketing", personas="champion", customer_actions="Reads\nCompares",
                   needs_functional="Facts", needs_emotional="Confidence",
                   pain_points="Too much jargon", opportunities="Plain-language guides",
                   information="Buyer guide | pdf | proactive",
                   kpis="Guide downloads | 0.25 | higher | ratio", time_standard="P7D",
                   evidence="research", moment_of_truth="1", next="referrals",
                   match_activity="content_download, webinar_registered",
                   emotion_champion="2")
    assert answer.status_code == 200, answer.text
    assert _version(answer.text) == 2
    t = next(t for t in owner.get(f"/api/maps/{map_id}").json()["document"]["touchpoints"]
             if t["id"] == "online-research")
    assert t["stage"] == "consideration"
    assert t["channels"] == ["web", "search"]
    assert t["customer_actions"] == ["Reads", "Compares"]
    assert t["needs"] == {"functional": ["Facts"], "emotional": ["Confidence"]}
    assert t["pain_points"] == [{"text": "Too much jargon"}]
    assert t["information"] == [{"name": "Buyer guide", "format": "pdf"}]
    assert t["kpis"][0]["name"] == "Guide downloads" and t["kpis"][0]["target"] == 0.25
    assert (t["time_standard"], t["evidence"], t["moment_of_truth"]) == ("P7D", "research", True)
    assert [link["to"] for link in t["next"]] == ["referrals"]
    assert t["match"][0]["activity"] == ["content_download", "webinar_registered"]
    assert t["emotion"] == {"champion": 2}


def test_bad_form_value_is_a_field_message(web, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/touchpoints/online-research", base_version="1",
                   name="x", stage="awareness", kpis="Downloads | lots")
    assert answer.status_code == 422
    assert "target &#39;lots&#39; is not a number" in answer.text
    assert answer.headers["HX-Retarget"] == "#flash"


def test_an_error_box_says_its_message_once(web, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/touchpoints/online-research", base_version="1",
                   name="x", stage="awareness", time_standard="zz")
    assert answer.status_code == 422
    box = answer.text
    assert box.count("is not an ISO 8601 duration") == 1
    assert "<strong>the map is not valid</strong>" in box
    assert "<li>touchpoints.1.time_standard: &#39;zz&#39; is not an ISO 8601 duration" in box


def test_stages_are_added_moved_edited_and_deleted(owner, web, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/stages", base_version="1", name="Advocacy")
    assert 'data-panel="stage:advocacy"' in answer.text
    _post(web, f"/maps/{map_id}/stages/advocacy/move", base_version="2", offset="-1")
    _post(web, f"/maps/{map_id}/stages/advocacy", base_version="3", name="Advocacy",
          exit_criteria="Refers a peer", time_standard="P90D")
    stages = owner.get(f"/api/maps/{map_id}").json()["document"]["stages"]
    ids = [s["id"] for s in stages]
    assert ids.index("advocacy") == len(ids) - 2
    assert stages[ids.index("advocacy")]["exit_criteria"] == "Refers a peer"
    refused = _post(web, f"/maps/{map_id}/stages/awareness/delete", base_version="4")
    assert refused.status_code == 422 and "move or delete them first" in refused.text
    assert _post(web, f"/maps/{map_id}/stages/advocacy/delete", base_version="4"
                 ).status_code == 200
    assert "advocacy" not in [s["id"] for s in
                              owner.get(f"/api/maps/{map_id}").json()["document"]["stages"]]


def test_persona_is_added_edited_and_deleted_with_its_references(owner, web,
                                                                 map_id: int) -> None:
    _post(web, f"/maps/{map_id}/personas", base_version="1", name="CFO", role="economic-buyer")
    _post(web, f"/maps/{map_id}/personas/cfo", base_version="2", name="CFO", influence="0.4",
          goals="Lower cost", titles="(?i)cfo")
    _post(web, f"/maps/{map_id}/touchpoints/online-research/emotion", base_version="3",
          persona="cfo", value="-1")
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    cfo = next(p for p in document["personas"] if p["id"] == "cfo")
    assert (cfo["influence"], cfo["goals"], cfo["titles"]) == (0.4, ["Lower cost"], ["(?i)cfo"])
    _post(web, f"/maps/{map_id}/personas/cfo/delete", base_version="4")
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    assert all("cfo" not in t.get("emotion", {}) for t in document["touchpoints"])
    bad = _post(web, f"/maps/{map_id}/personas/champion", base_version="5", name="C",
                influence="a lot")
    assert bad.status_code == 422


def test_details_review_and_yaml(owner, web, map_id: int) -> None:
    _post(web, f"/maps/{map_id}/details", base_version="1", name="Buyers", state="current",
          kind="journey", segment="mid-market", review_owner="cx-team",
          review_every_days="30", review_last_reviewed="2020-01-01")
    page = web.get(f"/maps/{map_id}").text
    assert "Review overdue" in page
    answer = _post(web, f"/maps/{map_id}/reviewed", base_version="2")
    assert "Review overdue" not in answer.text
    text = owner.get(f"/api/maps/{map_id}/export").text.replace("segment: mid-market",
                                                                "segment: enterprise")
    answer = _post(web, f"/maps/{map_id}/yaml", base_version="3", text=text)
    assert answer.status_code == 200
    assert owner.get(f"/api/maps/{map_id}").json()["document"]["segment"] == "enterprise"
    broken = _post(web, f"/maps/{map_id}/yaml", base_version="4", text="name: [unclosed")
    assert broken.status_code == 422 and "line 2, column 1: invalid YAML" in broken.text


def test_variant_persona_view_and_future_state(owner, web, workspace: int, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/variants", name="Enterprise", segment="enterprise")
    variant = int(answer.headers["HX-Redirect"].rsplit("/", 1)[1])
    page = web.get(f"/maps/{variant}").text
    assert "variant of" in page
    view = _post(web, f"/maps/{map_id}/variants", name="Champion view",
                 persona_view="champion")
    view_id = int(view.headers["HX-Redirect"].rsplit("/", 1)[1])
    assert "persona view: champion" in web.get(f"/maps/{view_id}").text
    refused = _post(web, f"/maps/{view_id}/touchpoints", base_version="1", name="x",
                    stage="awareness")
    assert refused.status_code == 403
    future = _post(web, f"/maps/{map_id}/future")
    target = future.headers["HX-Redirect"]
    assert target.endswith(f"/compare?with={map_id}")
    compare = web.get(target).text
    assert "future state" in compare and "No differences" not in compare
    listed = owner.get(f"/api/workspaces/{workspace}/maps").json()
    assert {m["name"] for m in listed} >= {"Buyers", "Enterprise", "Champion view",
                                           "Buyers (future state)"}


def test_history_diff_and_restore_pages(owner, web, map_id: int) -> None:
    _post(web, f"/maps/{map_id}/move", base_version="1", touchpoint="online-research",
          stage="decision", index="0")
    history = web.get(f"/maps/{map_id}/history?a=1&b=2").text
    assert "touchpoint online-research moved from awareness to decision" in history
    assert web.get(f"/maps/{map_id}/versions/1").status_code == 200
    answer = _post(web, f"/maps/{map_id}/restore", version="1", base_version="2")
    assert answer.headers["HX-Redirect"].endswith("/history")
    document = owner.get(f"/api/maps/{map_id}").json()
    assert document["version"] == 3
    assert next(t for t in document["document"]["touchpoints"]
                if t["id"] == "online-research")["stage"] == "awareness"


def test_comments_from_the_panel(web, map_id: int) -> None:
    answer = _post(web, f"/maps/{map_id}/comments", body="Check the SLA",
                   touchpoint="online-research", panel="touchpoint:online-research")
    assert answer.status_code == 200
    assert "Check the SLA" in answer.text
    panel = web.get(f"/maps/{map_id}/panel?panel=comments").text
    assert "Comments (1)" in panel


def test_workspace_pages_create_import_and_invite(app, web, workspace: int) -> None:
    page = web.get(f"/workspaces/{workspace}").text
    assert "New map from a template" in page
    answer = web.post(f"/workspaces/{workspace}/maps/import", data={"csrf_token": web.csrf},
                      files={"file": ("m.yaml", b"name: Tiny\nstages: [{id: a, name: A}]\n")})
    assert answer.status_code == 200 and "Tiny" in answer.text
    invite = web.post(f"/workspaces/{workspace}/invitations",
                      data={"csrf_token": web.csrf, "role": "viewer"})
    assert re.search(r'id="invite-url">http://testserver/invite/[\w-]+<', invite.text)


def test_an_owner_revokes_an_open_invitation_from_the_workspace_page(web,
                                                                     workspace: int) -> None:
    invite = web.post(f"/workspaces/{workspace}/invitations",
                      data={"csrf_token": web.csrf, "role": "viewer", "email": "v@example.com"})
    url = re.search(r'id="invite-url">http://testserver(/invite/[\w-]+)<', invite.text).group(1)
    assert web.get(url).status_code == 200
    page = web.get(f"/workspaces/{workspace}").text
    assert "viewer for v@example.com" in page
    action = re.search(r'action="(/workspaces/\d+/invitations/\d+/revoke)"', page).group(1)
    assert web.post(action, data={}).status_code == 403  # without the CSRF token
    answer = web.post(action, data={"csrf_token": web.csrf})
    assert answer.status_code == 200 and answer.url.path == f"/workspaces/{workspace}"
    assert "v@example.com" not in answer.text and "/revoke" not in answer.text
    assert web.get(url).status_code == 404


def test_a_variant_is_listed_under_its_own_base(owner, web, workspace: int) -> None:
    ids = {}
    for name in ("Alpha", "Beta"):
        ids[name] = owner.post(f"/api/workspaces/{workspace}/maps",
                               json={"name": name, "template": "b2b"}).json()["id"]
    # By name, "Alpha variant" would fall after "Alpha" anyway: "Zulu" is Alpha's too.
    variant = owner.post(f"/api/workspaces/{workspace}/maps",
                         json={"name": "Zulu", "base_map_id": ids["Alpha"]})
    assert variant.status_code == 201, variant.text
    page = web.get(f"/workspaces/{workspace}").text
    order = re.findall(r'<li class="(variant)?"><a href="/maps/\d+">([^<]+)</a>', page)
    names = [name for _, name in order]
    assert names.index("Zulu") == names.index("Alpha") + 1
    assert names.index("Beta") > names.index("Zulu")
    assert ("variant", "Zulu") in order


def _with_data(app, owner, workspace: int) -> None:  # type: ignore[no-untyped-def]
    answer = owner.post(f"/api/workspaces/{workspace}/imports", files=[
        ("files", ("events.csv", b"account_id,ts,activity\na,2024-01-01,demo_held\n"
                   b"a,2024-02-01,deal_won\nb,2024-01-02,demo_held\nb,2024-02-02,deal_won\n")),
        ("files", ("accounts.csv", b"account_id,segment\na,smb\nb,enterprise\n"))])
    app.state.uploads.wait(answer.json()["id"], timeout=300)


@pytest.mark.parametrize(("query", "message"), [
    ({"since": "2027-01-01", "until": "2020-01-01"}, "the period starts after it ends"),
    ({"since": "bad"}, "&#39;bad&#39; is not a date; write YYYY-MM-DD"),
    ({"segment": "nosuch"}, "segment &#39;nosuch&#39;: no account has it"),
    ({"persona": "nosuch"}, "persona &#39;nosuch&#39;: the map has no such persona"),
])
def test_dashboard_filter_errors_are_shown_inline_with_the_form(app, owner, web, workspace: int,
                                                                 map_id: int, query, message
                                                                 ) -> None:
    _with_data(app, owner, workspace)
    answer = web.get(f"/maps/{map_id}/dashboard", params=query)
    assert answer.status_code == 422
    page = answer.text
    assert 'id="filters"' in page and 'role="alert"' in page
    assert message in page.split('role="alert"')[1].split("</p>")[0]
    assert "--" not in page.split('role="alert"')[1].split("</p>")[0]
    assert "<option>enterprise</option>" in page  # the segments to choose from are kept
    assert web.get(f"/maps/{map_id}/dashboard").status_code == 200


def test_map_page_says_when_its_persona_is_unknown(web, map_id: int) -> None:
    page = web.get(f"/maps/{map_id}", params={"persona": "nosuch"}).text
    assert 'id="persona-notice"' in page
    assert "no persona &#39;nosuch&#39;" in page
    assert 'id="persona-notice"' not in web.get(f"/maps/{map_id}",
                                                params={"persona": "champion"}).text
