"""Recipes: round trip, the window's "Save recipe", and one-line errors that name the field."""

from __future__ import annotations

import json

import pytest

from stepedit_app.engines.controls import EditRequest
from stepedit_app.session.recipe import (
    SCHEMA_VERSION,
    Delivery,
    Recipe,
    RecipeError,
    load_recipe,
    parse_overrides,
    recipe_from_export,
    save_recipe,
)

GOOD = {
    "schema": "stepedit-recipe",
    "version": 1,
    "name": "Guards, angry",
    "engine": "prosody",
    "request": {"emotions": {"angry": 0.5}, "styles": {"shout": 0.2}, "speed": {}, "iterations": 2},
    "delivery": {
        "preset": "aswg-portable", "format": "flac", "bit_depth": 16, "sample_rate": 44100,
        "trim": {"head": True, "tail": False, "threshold_db": -55},
        "pad": {"head_ms": 20, "tail_ms": 150}, "dither": "tpdf", "scope": "region",
        "naming": "{name}_{emotion}_{line}",
    },
}


def _write(tmp_path, data) -> str:
    p = tmp_path / "recipe.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_a_recipe_loads_with_its_preset_and_explicit_values(tmp_path):
    r = load_recipe(_write(tmp_path, GOOD))
    assert r.name == "Guards, angry" and r.engine == "prosody"
    assert dict(r.request.emotions) == {"angry": 0.5} and dict(r.request.styles) == {"shout": 0.2}
    assert r.request.iterations == 2
    d = r.delivery
    assert (d.lufs, d.true_peak_db, d.tolerance_lu) == (-18.0, -1.0, 2.0)  # from the preset
    assert (d.format, d.subtype, d.sample_rate, d.ext) == ("flac", "PCM_16", 44100, ".flac")
    assert (d.trim_head, d.trim_tail, d.trim_threshold_db) == (True, False, -55.0)
    spec = d.spec()
    assert (spec.head_pad_s, spec.tail_pad_s, spec.subtype) == (0.02, 0.15, "PCM_16")


def test_explicit_values_win_over_the_preset(tmp_path):
    data = json.loads(json.dumps(GOOD))
    data["delivery"].update(lufs=-20, true_peak=-2)
    d = load_recipe(_write(tmp_path, data)).delivery
    assert (d.lufs, d.true_peak_db, d.preset) == (-20.0, -2.0, "aswg-portable")


def test_save_then_load_is_the_same_recipe_and_leaves_no_temporary_file(tmp_path):
    r = load_recipe(_write(tmp_path, GOOD))
    out = tmp_path / "saved" / "copy.json"
    out.parent.mkdir()
    save_recipe(r, out)
    again = load_recipe(out)
    assert again.to_dict() == r.to_dict() and again.digest() == r.digest()
    assert [p.name for p in out.parent.iterdir()] == ["copy.json"]
    assert json.loads(out.read_text())["version"] == SCHEMA_VERSION


def test_the_digest_follows_what_shapes_the_output_not_the_name(tmp_path):
    r = load_recipe(_write(tmp_path, GOOD))
    renamed = Recipe(r.request, r.engine, r.delivery, name="other")
    louder = Recipe(r.request, r.engine, Delivery(**{**vars(r.delivery), "lufs": -16.0}), r.name)
    assert renamed.digest() == r.digest()
    assert louder.digest() != r.digest()


def test_save_recipe_from_the_windows_sliders_and_export_settings(tmp_path):
    req = EditRequest(emotions={"happy": 0.6}, styles={"whisper": 0.3}, iterations=3, transcript="hello there")
    r = recipe_from_export(req, ext=".wav", subtype="PCM_16", scope="region", lufs=-23.0, true_peak_db=-2.0,
                           template="{name}_{emotion}_{take}", name="Happy whisper")
    p = save_recipe(r, tmp_path / "happy.json")
    back = load_recipe(p)
    assert dict(back.request.emotions) == {"happy": 0.6} and back.request.iterations == 3
    assert back.request.transcript is None  # transcripts belong to lines, not recipes
    assert (back.delivery.format, back.delivery.subtype, back.delivery.scope) == ("wav", "PCM_16", "region")
    assert (back.delivery.lufs, back.delivery.true_peak_db, back.delivery.naming) == (-23.0, -2.0, "{name}_{emotion}_{take}")
    with pytest.raises(RecipeError, match=r"^delivery.bit_depth: FLAC cannot hold float"):
        recipe_from_export(req, ext=".flac", subtype="FLOAT")


def _set(path: str, value):
    data = json.loads(json.dumps(GOOD))
    keys = path.split(".")
    d = data
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value
    return data


_DELETE = object()

INVALID = [
    (_set("delivery.lufs", -70), "delivery.lufs: -70 out of range (-40..-5)"),
    (_set("delivery.lufs", "loud"), 'delivery.lufs: "loud" is not a number (-40..-5)'),
    (_set("delivery.true_peak", 1.5), "delivery.true_peak: 1.5 out of range (-12..0)"),
    (_set("delivery.sample_rate", 47000), "delivery.sample_rate: 47000 is not a supported rate"),
    (_set("delivery.bit_depth", 32), "delivery.bit_depth: 32 is not one of 16, 24, float"),
    (_set("delivery.bit_depth", "float"), "delivery.bit_depth: FLAC cannot hold float samples"),
    (_set("delivery.format", "mp3"), 'delivery.format: "mp3" is not one of wav, flac'),
    (_set("delivery.preset", "loud"), 'delivery.preset: "loud" is not one of aswg-console'),
    (_set("delivery.naming", "{name}_{mood}"), "delivery.naming: unknown field {mood}"),
    (_set("delivery.naming", "{name"), "delivery.naming: '{name' does not parse"),
    (_set("delivery.pad", {"head_ms": -5}), "delivery.pad.head_ms: -5 out of range (0..10000)"),
    (_set("delivery.trim", {"head": "yes"}), 'delivery.trim.head: "yes" is not true or false'),
    (_set("delivery.lufs_target", -23), "delivery.lufs_target: unknown field (did you mean 'lufs'?"),
    (_set("request.emotions", {"angy": 0.5}), "request.emotions: unknown name 'angy' (did you mean 'angry'?"),
    (_set("request.emotions", {"angry": 1.5}), "request.emotions.angry: intensity 1.5 out of range"),
    (_set("request.iterations", 0), "request.iterations: 0 out of range"),
    (_set("request.transcript", "hi"), "request.transcript: unknown field"),
    (_set("engine", "warp9"), 'engine: "warp9" is unknown (allowed: prosody'),
    (_set("version", 2), "version: 2 is newer than this StepEdit understands (1)"),
    (_set("version", _DELETE), "version: null is not a schema version"),
    (_set("schema", "preset"), "schema: expected 'stepedit-recipe'"),
    ({**GOOD, "extra": 1}, "extra: unknown field"),
]


@pytest.mark.parametrize(("data", "message"), INVALID, ids=[m.split(":")[0] for _, m in INVALID])
def test_an_invalid_recipe_is_one_line_naming_the_file_and_field(tmp_path, data, message):
    p = _write(tmp_path, data)
    with pytest.raises(RecipeError) as err:
        load_recipe(p)
    text = str(err.value)
    assert text.startswith(f"{p}: {message}"), text
    assert "\n" not in text


def test_keep_duration_is_accepted_and_never_silently_ignored(tmp_path):
    data = _set("request.keep_duration", True)
    from dataclasses import fields

    if "keep_duration" in {f.name for f in fields(EditRequest)}:
        r = load_recipe(_write(tmp_path, data))
        assert r.keep_duration and r.request_for().keep_duration
    else:
        with pytest.raises(RecipeError, match="request.keep_duration: .*cannot keep the duration"):
            load_recipe(_write(tmp_path, data))
    r = load_recipe(_write(tmp_path, _set("request.keep_duration", False)))
    assert r.to_dict()["request"]["keep_duration"] is False


@pytest.mark.parametrize(("text", "message"), [
    ("{\n  \"schema\": \"stepedit-recipe\",\n  \"version\": 1\n  \"engine\": \"prosody\"\n}", "not valid JSON (line 4, column 3"),
    ("", "not valid JSON (line 1, column 1"),
    ("[1, 2]", "recipe: expected a JSON object"),
])
def test_a_file_that_is_not_a_recipe(tmp_path, text, message):
    p = _write(tmp_path, text)
    with pytest.raises(RecipeError, match=f"^{p}: " + message.replace("(", r"\(")):
        load_recipe(p)
    with pytest.raises(RecipeError, match="recipe not found"):
        load_recipe(tmp_path / "missing.json")
    with pytest.raises(RecipeError, match="is a folder"):
        load_recipe(tmp_path)


def test_per_line_overrides_merge_with_the_recipe(tmp_path):
    r = load_recipe(_write(tmp_path, GOOD))
    ov = parse_overrides({"emotions.angry": "80%", "styles.shout": "0", "speed.slower": "", "#note": "x"}, "list.csv line 2")
    assert ov == {"emotions": {"angry": 0.8}, "styles": {"shout": 0.0}}
    req = r.request_for(ov, "Halt! Who goes there?")
    assert dict(req.emotions) == {"angry": 0.8} and dict(req.styles) == {"shout": 0.0}
    assert req.transcript == "Halt! Who goes there?" and req.slug() == "angry80"
    with pytest.raises(RecipeError, match=r"list.csv line 2: column 'emotions.angy': unknown emotion 'angy' \(did you mean emotions.angry\?\)"):
        parse_overrides({"emotions.angy": "0.5"}, "list.csv line 2")
    with pytest.raises(RecipeError, match=r"list.csv line 2: styles.shout: 2 out of range"):
        parse_overrides({"styles.shout": "2"}, "list.csv line 2")
