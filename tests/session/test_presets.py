"""Preset files: shipped ones load, the user's are written atomically and win by name."""

from __future__ import annotations

import json

import pytest

from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import RequestError
from stepedit_app.session.presets import (
    list_presets,
    read_preset,
    shipped_presets_dir,
    user_presets_dir,
    write_preset,
)


def test_every_shipped_preset_reads():
    found = list_presets([shipped_presets_dir()])
    assert len(found) >= 8 and "Tense guard" in found
    name, req = read_preset(found["Tense guard"])
    assert name == "Tense guard" and req.emotions["angry"] == pytest.approx(0.7)


def test_user_presets_live_in_the_config_dir_and_win_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPEDIT_CONFIG_DIR", str(tmp_path / "cfg"))
    assert user_presets_dir() == tmp_path / "cfg" / "presets"
    p = write_preset(user_presets_dir(), "  Tense   guard ", EditRequest(emotions={"sad": 0.2}, iterations=3))
    assert p.name == "tense_guard.json" and not list(p.parent.glob("*.part"))
    found = list_presets()
    assert found["Tense guard"] == p
    assert read_preset(p)[1] == EditRequest(emotions={"sad": 0.2}, iterations=3)


@pytest.mark.parametrize("content, message", [
    ("{", "cannot be read"),
    ('["x"]', 'expected {"name"'),
    ('{"name": "x", "request": {"emotions": {"happy": 3}}}', "out of range"),
])
def test_broken_presets_give_one_line_and_do_not_hide_the_others(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    (tmp_path / "good.json").write_text(json.dumps({"name": "Good", "request": {"emotions": {"happy": 0.5}}}))
    with pytest.raises(RequestError) as exc:
        read_preset(bad)
    assert message in str(exc.value) and "bad.json" in str(exc.value)
    assert list(list_presets([tmp_path])) == ["Good"]
    with pytest.raises(RequestError, match="empty"):
        write_preset(tmp_path, "   ", EditRequest())
