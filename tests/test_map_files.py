"""Map files: lossless round trips and safe, located loading of broken files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from journeyscope.model.files import MAX_MAP_BYTES, dumps, load_map, parse_text, save_map
from journeyscope.model.issues import MapError
from journeyscope.model.types import JourneyMap, parse_duration

FULL = Path(__file__).parent / "data" / "maps" / "full.yaml"


def _error(path: Path) -> MapError:
    with pytest.raises(MapError) as info:
        load_map(path)
    return info.value


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_keeps_every_field(tmp_path: Path, suffix: str) -> None:
    original = load_map(FULL)
    saved = save_map(original, tmp_path / f"copy{suffix}")
    again = load_map(saved)
    assert again == original
    assert again.model_dump() == original.model_dump()
    # and once more, through the other format
    other = save_map(again, tmp_path / ("copy2.json" if suffix == ".yaml" else "copy2.yaml"))
    assert load_map(other) == original


def test_full_fixture_uses_every_field_of_the_format() -> None:
    data = load_map(FULL).model_dump(exclude_defaults=True)
    for name in JourneyMap.model_fields:
        if name in ("journeyscope", "extends", "persona_view", "remove", "account"):
            continue
        assert name in data, f"the round-trip fixture does not exercise {name!r}"
    touchpoint = data["touchpoints"][0]
    from journeyscope.model.types import Touchpoint

    missing = set(Touchpoint.model_fields) - set(touchpoint)
    assert not missing, f"first touchpoint leaves out {missing}"


def test_shorthands_load_as_the_long_form() -> None:
    data, src = parse_text(
        "name: x\nstages: [{id: a, name: A}]\ntouchpoints:\n"
        "  - {id: t, stage: a, name: T, channels: web, pain_points: [slow],"
        " next: [u], match: {activity: go}, information: [Price list]}\n"
        "  - {id: u, stage: a, name: U}\n"
    )
    from journeyscope.model.files import build_map

    m = build_map(data, src)
    t = m.touchpoints[0]
    assert t.channels == ["web"]
    assert t.pain_points[0].text == "slow"
    assert t.next[0].to == "u"
    assert t.match[0].activity == ["go"]
    assert t.information[0].name == "Price list"


def test_saved_yaml_starts_with_the_format_version(tmp_path: Path) -> None:
    text = dumps(load_map(FULL))
    assert text.startswith("journeyscope: 1\nname: Mid-market CRM buyers\n")


def test_stage_order_places_a_stage_between_others() -> None:
    m = JourneyMap(name="x", stages=[
        {"id": "a", "name": "A"}, {"id": "c", "name": "C"}, {"id": "b", "name": "B", "order": 1.5},
    ])
    assert m.stage_ids() == ["a", "b", "c"]


def test_duration_units() -> None:
    assert parse_duration("P2W3D").days == 17
    assert parse_duration("PT36H").total_seconds() == 36 * 3600
    assert parse_duration("P1M").days == 30
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration("3 days")


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nstages:\n  - id: a\n   name: A\n")
    issue = _error(path).issues[0]
    assert (issue.file, issue.line, issue.code) == (str(path), 4, "syntax")
    assert issue.column is not None


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "stages": [,]\n}\n')
    issue = _error(path).issues[0]
    assert (issue.line, issue.column) == (3, 14)
    assert "invalid JSON" in issue.message


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("name: x\nstages:\n  - id: a\n    name: A\nname: y\n")
    issue = _error(path).issues[0]
    assert (issue.file, issue.line, issue.column, issue.code) == (str(path), 5, 1, "syntax")
    assert issue.message == "the key 'name' appears twice; the first at line 1"
    json_path = tmp_path / "twice.json"
    json_path.write_text('{"name": "x",\n "stages": [{"id": "a", "name": "A", "id": "b"}]}\n')
    issue = _error(json_path).issues[0]
    assert (issue.line, issue.column, issue.path) == (2, 38, ("stages", 0, "id"))
    assert "'id' appears twice; the first at line 2" in issue.message


def test_a_merge_key_and_the_keys_it_overrides_are_no_duplicates() -> None:
    data, _ = parse_text("base: &b {id: a, name: A}\nstages:\n  - {<<: *b, name: B}\n"
                         "  - {<<: *b, id: c}\nagain: *b\n")
    assert data["stages"] == [{"id": "a", "name": "B"}, {"id": "c", "name": "A"}]


def test_unknown_field_suggests_the_intended_name(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("name: x\nstages:\n  - id: a\n    nmae: A\n")
    messages = {i.message: i for i in _error(path).issues}
    typo = messages["unknown field 'nmae'; did you mean 'name'?"]
    assert (typo.line, typo.column) == (4, 5)


def test_a_colour_that_is_no_hex_code_says_how_to_write_one(tmp_path: Path) -> None:
    path = tmp_path / "colour.yaml"
    path.write_text("name: x\nstages:\n  - id: a\n    name: A\n    color: red\n")
    [issue] = _error(path).issues
    assert issue.message == ("'red' is not a colour: write it as # and six hex digits, "
                             "e.g. #1f77b4")
    assert (issue.line, issue.column) == (5, 5)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    issue = _error(path).issues[0]
    assert issue.code == "too-large"
    assert "alias" in issue.message


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("name: &n [*n]\n")
    assert _error(path).issues[0].code == "syntax"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 3000 + "]" * 3000 + "\n")
    assert _error(path).issues[0].code in ("syntax", "too-deep")


def test_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB, sparse
    issue = _error(path).issues[0]
    assert issue.code == "too-large"
    assert "52.4 MB" in issue.message and str(MAX_MAP_BYTES // 2**20) in issue.message


def test_binary_junk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(gzip.compress(b"name: x\n" * 100))
    assert _error(path).issues[0].code in ("binary", "encoding")


def test_latin1_file_is_refused_with_the_position_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ndescription: Caf\u00e9\n".encode("latin-1"))
    issue = _error(path).issues[0]
    assert (issue.code, issue.line, issue.column) == ("encoding", 2, 17)
    assert "0xE9" in issue.message and "UTF-8" in issue.message


def test_utf16_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes("name: Café\nstages: []\n".encode("utf-16"))
    assert load_map(path).name == "Café"


def test_empty_and_missing_files_are_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert _error(empty).issues[0].code == "empty"
    assert _error(tmp_path / "nope.yaml").issues[0].code == "not-found"


def test_save_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    m = load_map(FULL)
    save_map(m, path)
    save_map(m.model_copy(update={"name": "Renamed"}), path)
    assert load_map(path).name == "Renamed"
    assert [p.name for p in tmp_path.iterdir()] == ["m.yaml"]
