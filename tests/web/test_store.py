"""The store on a real database: migrations, users, roles, versions and conflicts, variants."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from journeyscope.model.templates import new_map
from journeyscope.store import (
    Database,
    DatabaseError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    maps,
    users,
    workspaces,
)
from journeyscope.store.models import Base


def _setup(db: Database) -> tuple[int, int, int]:
    with db.write() as s:
        owner = users.create_user(s, "owner@example.com", "password-1")
        viewer = users.create_user(s, "viewer@example.com", "password-2")
        ws = workspaces.create_workspace(s, owner, "Acme")
        membership = workspaces.access(s, owner, ws.id)
        row = maps.create(s, membership, new_map("Buyers", "b2b"), owner)
        _, token = workspaces.invite(s, membership, "viewer")
        workspaces.accept(s, token, viewer)
        return ws.id, row.id, viewer.id


def test_migrations_create_exactly_the_models_tables(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert db.current_revision() == "0001"


def test_upgrade_twice_changes_nothing(db: Database) -> None:
    db.upgrade()
    assert "map_versions" in db.table_names()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    from journeyscope.store import sqlite_url

    db = Database(sqlite_url(tmp_path))
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_a_database_url_that_does_not_parse_is_refused_without_showing_it() -> None:
    with pytest.raises(DatabaseError) as caught:
        Database("postgresql+pg8000:/ana:s3cr3t-pw@db.internal/journeyscope")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "is not a URL" in str(caught.value)


def test_a_database_url_with_a_port_that_is_no_number_is_refused_without_showing_it() -> None:
    with pytest.raises(DatabaseError) as caught:
        Database("postgresql+pg8000://ana:s3cr3t-pw@db.internal:abc/journeyscope")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "port is not a number" in str(caught.value)


def test_password_is_stored_hashed_and_checked(db: Database) -> None:
    with db.write() as s:
        user = users.create_user(s, "Ana@Example.com", "correct horse")
        assert user.email == "ana@example.com"
        assert "correct horse" not in user.password_hash
        assert user.password_hash.startswith("$argon2")
    with db.read() as s:
        assert users.authenticate(s, "ana@example.com", "correct horse").email == "ana@example.com"
        with pytest.raises(Unauthorized):
            users.authenticate(s, "ana@example.com", "wrong password")
        with pytest.raises(Unauthorized):
            users.authenticate(s, "nobody@example.com", "correct horse")


def test_duplicate_email_is_a_field_error(db: Database) -> None:
    with db.write() as s:
        users.create_user(s, "ana@example.com", "password-1")
    with db.write() as s, pytest.raises(Invalid) as caught:
        users.create_user(s, "ANA@example.com", "password-2")
    assert caught.value.fields == [(("email",), "a user with this e-mail exists already")]


def test_session_and_api_token_are_stored_as_hashes(db: Database) -> None:
    with db.write() as s:
        user = users.create_user(s, "ana@example.com", "password-1")
        cookie = users.start_session(s, user)
        _, secret = users.create_token(s, user, "ci")
    with db.read() as s:
        assert users.session_user(s, cookie).email == "ana@example.com"
        assert users.token_user(s, secret).email == "ana@example.com"
        assert users.session_user(s, cookie + "x") is None
        rows = s.execute(Base.metadata.tables["sessions"].select()).all()
        assert all(cookie not in str(tuple(r)) for r in rows)


def test_non_member_gets_not_found_and_viewer_gets_forbidden(db: Database) -> None:
    ws_id, map_id, _ = _setup(db)
    with db.write() as s:
        stranger = users.create_user(s, "stranger@example.com", "password-3")
        with pytest.raises(NotFound):
            workspaces.access(s, stranger, ws_id)
        with pytest.raises(NotFound):
            maps.load(s, stranger, map_id)
        viewer = users.user_by_email(s, "viewer@example.com")
        loaded = maps.load(s, viewer, map_id)
        with pytest.raises(Forbidden, match="viewer"):
            maps.save(s, loaded, loaded.journey_map.model_copy(update={"name": "X"}), 1, viewer)


def test_save_on_an_old_version_is_a_conflict_with_the_other_change(db: Database) -> None:
    _, map_id, _ = _setup(db)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        loaded = maps.load(s, owner, map_id)
        moved = loaded.journey_map.model_copy(deep=True)
        moved.touchpoints[0].stage = "decision"
        assert maps.save(s, loaded, moved, 1, owner).version == 2
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        loaded = maps.load(s, owner, map_id)
        with pytest.raises(maps.VersionConflict) as caught:
            maps.save(s, loaded, loaded.journey_map.model_copy(update={"name": "Other"}), 1, owner)
    assert caught.value.diff.moved[0].to_stage == "decision"
    assert "moved from awareness to decision" in str(caught.value)
    with db.read() as s:
        owner = users.user_by_email(s, "owner@example.com")
        assert maps.load(s, owner, map_id).journey_map.name == "Buyers"
        assert [v.version for v in maps.versions(s, maps.load(s, owner, map_id).row)] == [2, 1]


def test_invalid_map_is_refused_with_the_field_path(db: Database) -> None:
    _, map_id, _ = _setup(db)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        loaded = maps.load(s, owner, map_id)
        broken = loaded.journey_map.model_copy(deep=True)
        broken.touchpoints[3].stage = "nowhere"
        with pytest.raises(Invalid) as caught:
            maps.save(s, loaded, broken, 1, owner)
    assert caught.value.fields[0][0] == ("document", "touchpoints", 3, "stage")


def test_restore_saves_the_old_content_as_a_new_version(db: Database) -> None:
    _, map_id, _ = _setup(db)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        loaded = maps.load(s, owner, map_id)
        maps.save(s, loaded, loaded.journey_map.model_copy(update={"name": "Renamed"}), 1, owner)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        restored = maps.restore(s, maps.load(s, owner, map_id), 1, 2, owner)
        assert restored.version == 3
        assert maps.load(s, owner, map_id).journey_map.name == "Buyers"
        assert maps.diff_versions(s, maps.load(s, owner, map_id).row, 2, 3).map_fields[0].after \
            == "Buyers"


def test_variant_stores_only_its_differences_and_follows_its_base(db: Database) -> None:
    ws_id, map_id, _ = _setup(db)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        base = maps.load(s, owner, map_id)
        variant = base.journey_map.model_copy(deep=True, update={"name": "Enterprise",
                                                                 "segment": "enterprise"})
        variant.touchpoints[1].owner = "key-accounts"
        row = maps.create(s, workspaces.access(s, owner, ws_id), variant, owner, base_map=base.row)
        document = maps.version_row(s, row).document
        assert document["touchpoints"] == [{"id": variant.touchpoints[1].id,
                                            "owner": "key-accounts"}]
        renamed = base.journey_map.model_copy(deep=True)
        renamed.stages[0].name = "Discovery"
        maps.save(s, base, renamed, 1, owner)
    with db.read() as s:
        owner = users.user_by_email(s, "owner@example.com")
        effective = maps.load(s, owner, row.id).journey_map
        assert effective.stages[0].name == "Discovery"
        assert effective.touchpoints[1].owner == "key-accounts"
        assert effective.segment == "enterprise"


def test_last_owner_cannot_leave_or_be_demoted(db: Database) -> None:
    ws_id, _, viewer_id = _setup(db)
    with db.write() as s:
        owner = users.user_by_email(s, "owner@example.com")
        membership = workspaces.access(s, owner, ws_id)
        with pytest.raises(Invalid):
            workspaces.set_role(s, membership, owner.id, "editor")
        workspaces.set_role(s, membership, viewer_id, "owner")
        workspaces.set_role(s, membership, owner.id, "editor")
        assert membership.role == "editor"


def test_summary_of_a_small_edit_equals_the_full_diff() -> None:
    from journeyscope.model.diff import diff

    before = new_map("Buyers", "b2b")
    after = before.model_copy(deep=True)
    after.touchpoints[0].stage = "decision"
    after.touchpoints[3].emotion = {**after.touchpoints[3].emotion, "champion": -2}
    linked = next(t for t in after.touchpoints if t.next)
    target = next(t for t in after.touchpoints if t.id == linked.next[0].to)
    target.owner = "someone-else"
    after.touchpoints[5].next = []
    after.touchpoints.pop(8)
    full = diff(before, after, "a", "b").to_dict()
    assert maps.change_of(before, after, "a", "b").to_dict() == full
    assert full["handovers_added"] or full["handovers_removed"]
