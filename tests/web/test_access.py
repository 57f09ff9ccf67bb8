"""Who may see and change what: viewers cannot edit (403 with a message), a user of another
workspace sees nothing (404, not 403), pages need a login, CSRF on every state change."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import api_client, browser_client, join


def test_viewer_cannot_edit_and_is_told_why(app, owner, workspace: int, map_id: int) -> None:
    viewer = join(app, owner, workspace, "viewer@example.com", "viewer")
    body = viewer.get(f"/api/maps/{map_id}").json()
    assert body["can_edit"] is False
    answer = viewer.put(f"/api/maps/{map_id}", json={"base_version": 1,
                                                     "document": body["document"]})
    assert answer.status_code == 403
    assert "viewer" in answer.json()["detail"]
    assert viewer.post(f"/api/workspaces/{workspace}/maps", json={"name": "X"}
                       ).status_code == 403
    assert viewer.delete(f"/api/maps/{map_id}").status_code == 403
    assert viewer.post(f"/api/maps/{map_id}/restore", json={"version": 1, "base_version": 1}
                       ).status_code == 403
    assert viewer.post(f"/api/workspaces/{workspace}/invitations", json={"role": "owner"}
                       ).status_code == 403


def test_only_an_owner_renames_or_deletes_a_workspace_and_the_403_says_so(
        app, owner, workspace: int) -> None:
    editor = join(app, owner, workspace, "editor@example.com", "editor")
    renamed = editor.patch(f"/api/workspaces/{workspace}", json={"name": "Mine now"})
    assert renamed.status_code == 403
    assert renamed.json()["detail"] == ("you are an editor of this workspace: only owners can "
                                        "rename the workspace")
    deleted = editor.delete(f"/api/workspaces/{workspace}")
    assert deleted.status_code == 403
    assert deleted.json()["detail"].endswith("only owners can delete the workspace")


def test_viewer_edit_in_the_editor_is_403_with_a_message(app, owner, workspace: int,
                                                         map_id: int) -> None:
    join(app, owner, workspace, "viewer@example.com", "viewer")
    viewer = browser_client(app, "viewer@example.com")
    page = viewer.get(f"/maps/{map_id}")
    assert "read only: you are a viewer" in page.text
    answer = viewer.post(f"/maps/{map_id}/touchpoints", data={"name": "Sneaky", "stage":
                         "awareness", "base_version": "1"},
                         headers={"X-CSRF-Token": viewer.csrf, "HX-Request": "true"})
    assert answer.status_code == 403
    assert "only editors can change maps and data" in answer.text


@pytest.mark.parametrize("path", ["/api/workspaces/{w}", "/api/workspaces/{w}/maps",
                                  "/api/workspaces/{w}/members", "/api/maps/{m}",
                                  "/api/maps/{m}/versions", "/api/maps/{m}/comments",
                                  "/api/maps/{m}/export", "/api/workspaces/{w}/imports",
                                  "/workspaces/{w}", "/maps/{m}", "/maps/{m}/history",
                                  "/maps/{m}/dashboard", "/maps/{m}/versions/1"])
def test_other_workspace_is_not_found(app, workspace: int, map_id: int, path: str) -> None:
    stranger = api_client(app, "stranger@example.com")
    answer = stranger.get(path.format(w=workspace, m=map_id))
    assert answer.status_code == 404
    assert "Acme" not in answer.text and "Buyers" not in answer.text


def test_other_workspace_cannot_be_changed(app, owner, workspace: int, map_id: int) -> None:
    stranger = api_client(app, "stranger@example.com")
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    assert stranger.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": document}
                        ).status_code == 404
    assert stranger.post(f"/api/maps/{map_id}/comments", json={"body": "hi"}).status_code == 404
    assert stranger.post(f"/api/workspaces/{workspace}/maps", json={"name": "X"}
                         ).status_code == 404
    assert stranger.get("/api/maps/999999").status_code == 404


def test_pages_redirect_to_login(app) -> None:
    client = TestClient(app, follow_redirects=False)
    answer = client.get("/maps/1?persona=cio")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/maps/1%3Fpersona%3Dcio"


def test_login_with_a_wrong_password_is_refused(app) -> None:
    browser_client(app, "ana@example.com")
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"email": "ana@example.com", "password": "nope-nope",
                                         "csrf_token": token})
    assert answer.status_code == 401
    assert "wrong e-mail or password" in answer.text


def test_login_redirect_stays_on_this_site(app) -> None:
    browser_client(app, "ana@example.com")
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"email": "ana@example.com", "password":
                                         "correct horse battery", "csrf_token": token,
                                         "next": "//evil.example/"})
    assert answer.headers["location"] == "/"


def test_state_change_without_csrf_token_is_refused(app, workspace: int, map_id: int) -> None:
    client = browser_client(app, "owner@example.com")
    without = client.post("/workspaces", data={"name": "Forged"})
    assert without.status_code == 403
    assert "CSRF" in without.text
    wrong = client.post(f"/maps/{map_id}/touchpoints", data={
        "name": "Forged", "stage": "awareness", "base_version": "1"},
        headers={"X-CSRF-Token": "not-the-token", "HX-Request": "true"})
    assert wrong.status_code == 403
    forged_json = client.post("/api/workspaces", json={"name": "Forged"})
    assert forged_json.status_code == 403
    assert [w["name"] for w in client.get("/api/workspaces").json()] == ["Acme"]
    right = client.post("/workspaces", data={"name": "Real", "csrf_token": client.csrf})
    assert right.status_code == 200
    assert "Real" in right.text


def test_login_form_needs_the_csrf_token_too(app) -> None:
    browser_client(app, "ana@example.com")
    client = TestClient(app)
    client.get("/login")
    answer = client.post("/login", data={"email": "ana@example.com",
                                         "password": "correct horse battery"})
    assert answer.status_code == 403


def test_invitation_link_signs_up_a_new_member(app, owner, workspace: int) -> None:
    link = owner.post(f"/api/workspaces/{workspace}/invitations",
                      json={"role": "editor", "email": "new@example.com"}).json()["url"]
    path = "/" + link.split("/", 3)[3]
    client = TestClient(app)
    page = client.get(path)
    assert "Join Acme" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(path, data={"email": "new@example.com", "password": "long enough pw",
                                     "csrf_token": token})
    assert answer.status_code == 200
    members = owner.get(f"/api/workspaces/{workspace}/members").json()
    assert ("new@example.com", "editor") in [(m["email"], m["role"]) for m in members]
    assert client.get(path).status_code == 404  # used up


def test_upload_with_a_map_of_another_workspace_is_refused_like_an_unknown_map(
        app, owner, workspace: int, map_id: int) -> None:
    other = owner.post("/api/workspaces", json={"name": "Other"}).json()["id"]
    files = [("files", ("events.csv", b"account_id,ts,activity\na,2024-01-01,x\n"))]
    unknown = owner.post(f"/api/workspaces/{other}/imports", data={"map_id": "9999"},
                         files=files)
    foreign = owner.post(f"/api/workspaces/{other}/imports", data={"map_id": str(map_id)},
                         files=files)
    assert unknown.status_code == foreign.status_code == 404
    assert foreign.json() == unknown.json()
    assert owner.get(f"/api/workspaces/{other}/imports").json() == []
    web = browser_client(app, "owner@example.com")
    page = web.post(f"/workspaces/{other}/uploads", data={"map_id": str(map_id)}, files=files,
                    headers={"X-CSRF-Token": web.csrf, "HX-Request": "true"})
    assert page.status_code == 404
