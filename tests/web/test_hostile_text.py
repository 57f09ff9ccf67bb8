"""User text is shown as text everywhere: `<script>` in every field of a map, a workspace, a
comment and a user name never reaches a page as markup."""

from __future__ import annotations

from tests.web.conftest import browser_client

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def _hostile(document: dict) -> dict:
    document.update(name=f"Map {SCRIPT}", objective=IMG, audience=SCRIPT, description=SCRIPT,
                    segment=SCRIPT, account=IMG)
    document["review"] = {"owner": SCRIPT, "every_days": 1, "last_reviewed": "2020-01-01"}
    for stage in document["stages"]:
        stage.update(name=f"{stage['name']} {SCRIPT}", description=IMG, exit_criteria=SCRIPT,
                     customer_actions=[SCRIPT], pain_points=[IMG], opportunities=[SCRIPT])
    for persona in document["personas"]:
        persona.update(name=f"{persona['name']} {IMG}", role=SCRIPT, description=SCRIPT,
                       goals=[IMG], decision_criteria=[SCRIPT])
    for tp in document["touchpoints"]:
        tp.update(name=f"{tp['name']} {SCRIPT}", description=IMG, owner=SCRIPT,
                  customer_actions=[SCRIPT], needs={"functional": [IMG], "emotional": [SCRIPT]},
                  pain_points=[SCRIPT], opportunities=[IMG], information=[{"name": SCRIPT,
                                                                           "format": IMG}],
                  kpis=[{"name": SCRIPT, "target": 1}])
        tp.pop("main_channel", None)
        tp["channels"] = [SCRIPT]
    return document


def test_script_in_every_field_is_shown_as_text(app, owner, workspace: int, map_id: int) -> None:
    owner.patch(f"/api/workspaces/{workspace}", json={"name": f"Acme {SCRIPT}"})
    document = _hostile(owner.get(f"/api/maps/{map_id}").json()["document"])
    saved = owner.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": document,
                                                   "message": SCRIPT})
    assert saved.status_code == 200, saved.text
    touchpoint = document["touchpoints"][0]["id"]
    owner.post(f"/api/maps/{map_id}/comments", json={"body": SCRIPT, "touchpoint": touchpoint})
    owner.post(f"/api/maps/{map_id}/comments", json={"body": IMG})
    other = owner.post(f"/api/workspaces/{workspace}/maps", json={"name": f"Other {IMG}"})
    client = browser_client(owner.app, "owner@example.com")
    pages = [
        "/", f"/workspaces/{workspace}", f"/maps/{map_id}", f"/maps/{map_id}/history",
        f"/maps/{map_id}/history?a=1&b=2", f"/maps/{map_id}/versions/2",
        f"/maps/{map_id}/compare?with={other.json()['id']}", f"/maps/{map_id}/dashboard",
        f"/maps/{map_id}/panel?panel=touchpoint:{touchpoint}",
        f"/maps/{map_id}/panel?panel=stage:{document['stages'][0]['id']}",
        f"/maps/{map_id}/panel?panel=persona:{document['personas'][0]['id']}",
        f"/maps/{map_id}/panel?panel=comments", f"/maps/{map_id}/panel?panel=yaml",
        f"/maps/{map_id}/panel?panel=stages", f"/maps/{map_id}/panel?panel=personas",
    ]
    for path in pages:
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert "<img src=x" not in html, path
    editor = client.get(f"/maps/{map_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in editor
    assert "Review overdue" in editor


def test_hostile_names_in_errors_are_escaped(app, owner, map_id: int) -> None:
    client = browser_client(owner.app, "owner@example.com")
    answer = client.post(f"/maps/{map_id}/touchpoints/{SCRIPT}", data={"base_version": "1"},
                         headers={"X-CSRF-Token": client.csrf, "HX-Request": "true"})
    assert answer.status_code == 404
    assert SCRIPT not in answer.text
