"""The REST API in process, on SQLite (and PostgreSQL when JOURNEYSCOPE_TEST_POSTGRES_URL is
set): workspaces, maps, versions, conflicts, import and export, comments, validation errors."""

from __future__ import annotations

import yaml
from tests.web.conftest import join


def test_health_needs_no_login(app) -> None:
    from fastapi.testclient import TestClient

    answer = TestClient(app).get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_api_without_credentials_is_401(app) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    assert client.get("/api/workspaces").status_code == 401
    client.headers["Authorization"] = "Bearer jst_not-a-real-token"
    assert client.get("/api/workspaces").status_code == 401


def test_workspace_creator_is_its_owner(owner, workspace: int) -> None:
    listed = owner.get("/api/workspaces").json()
    assert [(w["id"], w["name"], w["role"]) for w in listed] == [(workspace, "Acme", "owner")]


def test_map_from_template_starts_at_version_1(owner, map_id: int) -> None:
    body = owner.get(f"/api/maps/{map_id}").json()
    assert body["version"] == 1
    assert body["document"]["name"] == "Buyers"
    assert [s["id"] for s in body["document"]["stages"]][:2] == ["awareness", "consideration"]


def test_save_makes_a_version_with_what_changed(owner, map_id: int) -> None:
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    document["touchpoints"][0]["stage"] = "decision"
    answer = owner.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": document})
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2
    versions = owner.get(f"/api/maps/{map_id}/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    moved = document["touchpoints"][0]["id"]
    assert f"touchpoint {moved} moved from awareness to decision" in versions[0]["summary"]
    assert versions[0]["author"] == "owner@example.com"


def test_second_save_on_the_same_base_version_is_409_with_the_other_change(
        app, owner, workspace: int, map_id: int) -> None:
    editor = join(app, owner, workspace, "editor@example.com", "editor")
    mine = owner.get(f"/api/maps/{map_id}").json()["document"]
    theirs = editor.get(f"/api/maps/{map_id}").json()["document"]
    theirs["name"] = "Renamed by the editor"
    assert editor.put(f"/api/maps/{map_id}", json={"base_version": 1,
                                                   "document": theirs}).status_code == 200
    mine["touchpoints"][0]["name"] = "My change"
    answer = owner.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": mine})
    assert answer.status_code == 409
    body = answer.json()
    assert body["current_version"] == 2
    assert body["author"] == "editor@example.com"
    assert body["diff"]["map_fields"] == [{"field": "name", "before": "Buyers",
                                           "after": "Renamed by the editor"}]
    current = owner.get(f"/api/maps/{map_id}").json()["document"]
    assert current["name"] == "Renamed by the editor"
    assert current["touchpoints"][0]["name"] != "My change"


def test_invalid_document_gets_field_errors_not_500(owner, map_id: int) -> None:
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    document["touchpoints"][2]["stage"] = "nowhere"
    document["touchpoints"][3]["emotion"] = {"it-manager": "very happy"}
    answer = owner.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": document})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail[0]["loc"][:5] == ["body", "document", "touchpoints", 3, "emotion"]
    answer = owner.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": {
        **document, "touchpoints": document["touchpoints"][:3]}})
    assert answer.status_code == 422
    assert any(d["loc"] == ["body", "document", "touchpoints", 2, "stage"]
               and "unknown stage 'nowhere'" in d["msg"] for d in answer.json()["detail"])


def test_request_body_errors_use_the_same_shape(owner, workspace: int) -> None:
    answer = owner.post("/api/workspaces", json={"name": ""})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "name"]
    answer = owner.post(f"/api/workspaces/{workspace}/maps", json={"name": "X",
                                                                   "template": "nope"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "template"]


def test_yaml_and_json_export_round_trip_through_import(owner, workspace: int,
                                                        map_id: int) -> None:
    for fmt in ("yaml", "json"):
        text = owner.get(f"/api/maps/{map_id}/export", params={"format": fmt}).text
        created = owner.post(f"/api/workspaces/{workspace}/maps/import",
                             json={"text": text, "format": fmt})
        assert created.status_code == 201, created.text
        again = owner.get(f"/api/maps/{created.json()['id']}/export", params={"format": fmt})
        assert again.text == text
    assert yaml.safe_load(text if fmt == "yaml" else "{}") is not None


def test_yaml_text_save_reports_the_line_of_a_mistake(owner, map_id: int) -> None:
    text = owner.get(f"/api/maps/{map_id}/export").text
    broken = text.replace("name: Buyers", "name: Buyers\nstagez: []", 1)
    answer = owner.put(f"/api/maps/{map_id}/text", json={"text": broken, "format": "yaml",
                                                        "base_version": 1})
    assert answer.status_code == 422
    message = answer.json()["detail"][0]["msg"]
    assert "line 3" in message and "unknown field 'stagez'" in message


def test_yaml_text_save_locates_a_reference_error_as_validate_does(owner, map_id: int) -> None:
    text = owner.get(f"/api/maps/{map_id}/export").text
    website = "- id: website\n  stage: consideration\n"
    assert website in text
    broken = text.replace(website, "- id: website\n  stage: nowhere\n", 1)
    line = broken[:broken.index("stage: nowhere")].count("\n") + 1
    answer = owner.put(f"/api/maps/{map_id}/text", json={"text": broken, "format": "yaml",
                                                        "base_version": 1})
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", "text"]
    assert detail["msg"].startswith(f"line {line}, column 3: touchpoint 'website' is in unknown "
                                    "stage 'nowhere'"), detail["msg"]


def test_yaml_text_save_refuses_a_key_written_twice(owner, map_id: int) -> None:
    text = owner.get(f"/api/maps/{map_id}/export").text.replace("name: Buyers",
                                                                 "name: Buyers\nname: Other", 1)
    answer = owner.put(f"/api/maps/{map_id}/text", json={"text": text, "format": "yaml",
                                                        "base_version": 1})
    assert answer.status_code == 422
    message = answer.json()["detail"][0]["msg"]
    assert message.startswith("line 3, column 1: the key 'name' appears twice; the first at "
                              "line 2")
    assert owner.get(f"/api/maps/{map_id}").json()["name"] == "Buyers"


def test_restore_brings_back_an_old_version_as_a_new_one(owner, map_id: int) -> None:
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    owner.put(f"/api/maps/{map_id}", json={"base_version": 1,
                                           "document": {**document, "name": "Second"}})
    answer = owner.post(f"/api/maps/{map_id}/restore", json={"version": 1, "base_version": 2})
    assert answer.status_code == 200
    assert (answer.json()["version"], answer.json()["document"]["name"]) == (3, "Buyers")
    change = owner.get(f"/api/maps/{map_id}/diff", params={"from": 2, "to": 3}).json()
    assert change["map_fields"] == [{"field": "name", "before": "Second", "after": "Buyers"}]


def test_stale_restore_is_409_naming_the_change_saved_meanwhile(app, owner, workspace: int,
                                                                map_id: int) -> None:
    editor = join(app, owner, workspace, "editor@example.com", "editor")
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    assert owner.put(f"/api/maps/{map_id}", json={
        "base_version": 1, "document": {**document, "name": "Renamed meanwhile"}}
                     ).status_code == 200
    answer = editor.post(f"/api/maps/{map_id}/restore", json={"version": 1, "base_version": 1})
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert (body["base_version"], body["current_version"]) == (1, 2)
    assert body["diff"]["map_fields"] == [{"field": "name", "before": "Buyers",
                                           "after": "Renamed meanwhile"}]
    assert "no differences" not in body["detail"]
    assert "Renamed meanwhile" in body["detail"]
    assert owner.get(f"/api/maps/{map_id}").json()["version"] == 2


def test_save_text_save_and_restore_answer_the_new_name_and_date(owner, map_id: int) -> None:
    def summary(answer):  # type: ignore[no-untyped-def]
        assert answer.status_code == 200, answer.text
        body = answer.json()
        listed = owner.get(f"/api/maps/{map_id}").json()
        assert (body["name"], body["updated_at"]) == (listed["name"], listed["updated_at"])
        assert body["name"] == body["document"]["name"]
        return body["name"], body["updated_at"]

    created = owner.get(f"/api/maps/{map_id}").json()
    saved = summary(owner.put(f"/api/maps/{map_id}", json={
        "base_version": 1, "document": {**created["document"], "name": "Second"}}))
    assert saved[0] == "Second" and saved[1] > created["updated_at"]
    text = owner.get(f"/api/maps/{map_id}/export").text.replace("name: Second", "name: Third", 1)
    as_text = summary(owner.put(f"/api/maps/{map_id}/text", json={
        "base_version": 2, "text": text, "format": "yaml"}))
    assert as_text[0] == "Third" and as_text[1] > saved[1]
    restored = summary(owner.post(f"/api/maps/{map_id}/restore",
                                  json={"version": 1, "base_version": 3}))
    assert restored[0] == "Buyers" and restored[1] > as_text[1]


def test_comments_on_the_map_and_on_a_touchpoint(app, owner, workspace: int,
                                                 map_id: int) -> None:
    viewer = join(app, owner, workspace, "viewer@example.com", "viewer")
    touchpoint = owner.get(f"/api/maps/{map_id}").json()["document"]["touchpoints"][0]["id"]
    assert owner.post(f"/api/maps/{map_id}/comments", json={"body": "Looks good"}
                      ).status_code == 201
    answer = viewer.post(f"/api/maps/{map_id}/comments", json={"body": "Is this measured?",
                                                               "touchpoint": touchpoint})
    assert answer.status_code == 201
    on_tp = owner.get(f"/api/maps/{map_id}/comments", params={"touchpoint": touchpoint}).json()
    assert [(c["author"], c["body"]) for c in on_tp] == [("viewer@example.com",
                                                          "Is this measured?")]
    bad = owner.post(f"/api/maps/{map_id}/comments", json={"body": "x", "touchpoint": "ghost"})
    assert bad.status_code == 422


def test_a_new_map_from_both_a_document_and_a_template_is_422(owner, workspace: int,
                                                               map_id: int) -> None:
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    answer = owner.post(f"/api/workspaces/{workspace}/maps",
                        json={"name": "Both", "template": "b2b", "document": document})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == ["body", "template"]
    assert "give either a document or a template" in detail[0]["msg"]
    assert [m["id"] for m in owner.get(f"/api/workspaces/{workspace}/maps").json()] == [map_id]


def test_variant_stores_its_differences_and_shows_the_merged_map(owner, workspace: int,
                                                                 map_id: int) -> None:
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    document.update(name="Enterprise", segment="enterprise")
    answer = owner.post(f"/api/workspaces/{workspace}/maps",
                        json={"document": document, "base_map_id": map_id})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["own_document"] == {"journeyscope": 1, "name": "Enterprise",
                                    "extends": f"map:{map_id}", "segment": "enterprise"}
    assert len(body["document"]["touchpoints"]) == len(document["touchpoints"])


def test_variant_from_a_base_map_id_copies_that_map_not_a_template(owner,
                                                                    workspace: int) -> None:
    base = owner.post(f"/api/workspaces/{workspace}/maps",
                      json={"name": "Five", "template": "five-stage"}).json()
    base_doc = base["document"]
    answer = owner.post(f"/api/workspaces/{workspace}/maps",
                        json={"name": "Var5", "base_map_id": base["id"]})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["base_map_id"] == base["id"] and body["name"] == "Var5"
    assert body["own_document"] == {"journeyscope": 1, "name": "Var5",
                                    "extends": f"map:{base['id']}"}
    assert [s["id"] for s in body["document"]["stages"]] == [
        "awareness", "consideration", "decision", "retention", "loyalty"]
    assert body["document"]["touchpoints"] == base_doc["touchpoints"]
    mixed = owner.post(f"/api/workspaces/{workspace}/maps",
                       json={"name": "Var", "base_map_id": base["id"], "template": "b2b"})
    assert mixed.status_code == 422
    assert mixed.json()["detail"][0]["loc"] == ["body", "template"]
    nameless = owner.post(f"/api/workspaces/{workspace}/maps", json={"base_map_id": base["id"]})
    assert nameless.status_code == 422
    assert nameless.json()["detail"][0]["loc"] == ["body", "name"]


def test_api_token_lifecycle(owner) -> None:
    created = owner.post("/api/tokens", json={"name": "ci"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("jst_")
    assert all(t.get("token") is None for t in owner.get("/api/tokens").json())
    from fastapi.testclient import TestClient

    other = TestClient(owner.app, headers={"Authorization": f"Bearer {secret}"})
    assert other.get("/api/me").json()["email"] == "owner@example.com"
    assert owner.delete(f"/api/tokens/{created.json()['id']}").status_code == 204
    assert other.get("/api/me").status_code == 401


def test_only_admins_create_users(app, owner) -> None:
    from tests.web.conftest import api_client, make_user

    assert owner.post("/api/users", json={"email": "x@example.com", "password": "password-x"}
                      ).status_code == 403
    make_user(app, "admin@example.com", admin=True)
    admin = api_client(app, "admin@example.com")
    answer = admin.post("/api/users", json={"email": "x@example.com", "password": "password-x"})
    assert answer.status_code == 201
    assert admin.post("/api/users", json={"email": "x@example.com", "password": "password-x"}
                      ).json()["detail"][0]["loc"] == ["body", "email"]


def test_a_map_with_variants_is_kept_until_they_are_deleted(owner, workspace: int,
                                                            map_id: int) -> None:
    variant = owner.post(f"/api/workspaces/{workspace}/maps", json={
        "document": {**owner.get(f"/api/maps/{map_id}").json()["document"], "name": "V"},
        "base_map_id": map_id}).json()["id"]
    refused = owner.delete(f"/api/maps/{map_id}")
    assert refused.status_code == 422
    assert "delete them first" in refused.json()["detail"][0]["msg"]
    assert owner.delete(f"/api/maps/{variant}").status_code == 204
    assert owner.delete(f"/api/maps/{map_id}").status_code == 204
    assert owner.get(f"/api/maps/{map_id}").status_code == 404


def test_deleting_a_workspace_removes_its_data_folder(app, owner, workspace: int) -> None:
    folder = app.state.settings.data_dir / "workspaces" / str(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.duckdb").write_bytes(b"")
    assert owner.delete(f"/api/workspaces/{workspace}").status_code == 204
    assert not folder.exists()
    assert owner.get(f"/api/workspaces/{workspace}").status_code == 404


def test_a_variant_is_saved_through_the_api_again_and_again(owner, workspace: int) -> None:
    base = owner.post(f"/api/workspaces/{workspace}/maps",
                      json={"name": "Base", "template": "b2b"}).json()
    variant = owner.post(f"/api/workspaces/{workspace}/maps",
                         json={"name": "Var", "base_map_id": base["id"]}).json()
    for version in (1, 2, 3):
        document = dict(variant["document"], name=f"Var {version + 1}")
        answer = owner.put(f"/api/maps/{variant['id']}",
                           json={"base_version": version, "document": document})
        assert answer.status_code == 200, answer.text
        variant = answer.json()
        assert (variant["version"], variant["name"]) == (version + 1, f"Var {version + 1}")
        assert variant["own_document"]["extends"] == f"map:{base['id']}"
    text = owner.put(f"/api/maps/{variant['id']}/text", json={
        "base_version": 4, "format": "yaml",
        "text": f"journeyscope: 1\nname: Var text\nextends: map:{base['id']}\n"})
    assert text.status_code == 200, text.text
    assert (text.json()["version"], text.json()["name"]) == (5, "Var text")
    restored = owner.post(f"/api/maps/{variant['id']}/restore",
                          json={"version": 2, "base_version": 5})
    assert restored.status_code == 200, restored.text
    assert (restored.json()["version"], restored.json()["name"]) == (6, "Var 2")
