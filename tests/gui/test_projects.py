"""Projects in the window: File → Save/Open Project, autosave after each take, a moved or
changed source reported with an offer to locate it, nothing lost on close (issue 8, problem 2)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtWidgets import QFileDialog

from stepedit_app.session.project import find_recoverable, read_project, sidecar_folder

from .conftest import open_and_wait, render_and_wait, render_two_takes


@pytest.fixture
def source(tmp_path, female_clip_path):
    p = tmp_path / "src" / "guard.wav"
    p.parent.mkdir()
    shutil.copy(female_clip_path, p)
    return p


def _two_takes(w, qtbot):
    w.state.set_region_seconds(1.0, 3.0)
    render_two_takes(w, qtbot, "emotion", "angry", 60)


def test_each_take_is_autosaved_as_it_arrives(window, qtbot, source, autosave_root):
    w = window
    open_and_wait(w, qtbot, source)
    saves = []
    w.documents.autosaved.connect(saves.append)
    _two_takes(w, qtbot)
    qtbot.waitUntil(lambda: len(read_project(w.documents.autosave.project).takes) == 2, timeout=30000)
    assert saves and all(s > 0 for s in saves)
    assert not list(autosave_root.rglob("*.part"))
    # A rename is autosaved too.
    w.state.session.takes.rename(w.state.takes[0], "calm version")
    qtbot.waitUntil(lambda: read_project(w.documents.autosave.project).takes[0]["name"] == "calm version",
                    timeout=30000)
    assert find_recoverable(autosave_root) == []  # this window is alive: nothing to recover


def test_save_and_open_project_through_the_file_menu(make_window, qtbot, source, tmp_path, monkeypatch):
    w = make_window()
    open_and_wait(w, qtbot, source)
    _two_takes(w, qtbot)
    w.state.session.takes.set_starred(w.state.takes[1], True)
    target = tmp_path / "job" / "guard.stepedit"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(target), ""))
    with qtbot.waitSignal(w.documents.saved, timeout=30000):
        w.actions["save"].trigger()  # no project yet: Save asks where
    assert not w.state.modified and w.state.project_path == target
    assert sorted(p.suffix for p in sidecar_folder(target).iterdir()) == [".flac", ".flac"]
    assert "guard.stepedit" in w.windowTitle()
    before = [(t.id, t.name, t.starred, t.segment.samples.copy()) for t in w.state.takes]

    w2 = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(target), ""))
    with qtbot.waitSignal(w2.documents.opened, timeout=60000):
        w2.actions["open_project"].trigger()
    after = [(t.id, t.name, t.starred, t.segment.samples) for t in w2.state.takes]
    assert [a[:3] for a in after] == [b[:3] for b in before]
    assert all(np.array_equal(a[3], b[3]) for a, b in zip(after, before))
    assert w2.state.region == w.state.region
    assert w2.state.values[("emotion", "angry")] == pytest.approx(0.6)
    assert not w2.state.modified and w2.takes_panel.list.count() == 2
    # New takes continue the numbering.
    w2.controls.iterations.setValue(1)
    assert render_and_wait(w2, qtbot) == 1
    assert w2.state.takes[-1].id == 3


def test_a_moved_source_is_reported_and_can_be_located(make_window, qtbot, source, tmp_path, monkeypatch):
    w = make_window()
    open_and_wait(w, qtbot, source)
    _two_takes(w, qtbot)
    target = tmp_path / "p.stepedit"
    assert w.documents.save_project_now(target)
    moved = tmp_path / "elsewhere" / "guard-final.wav"
    moved.parent.mkdir()
    shutil.move(source, moved)

    w2 = make_window()
    asked = []
    w2.ask_source_problem = lambda message, changed: asked.append((message, changed)) or "locate"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(moved), ""))
    with qtbot.waitSignal(w2.documents.opened, timeout=60000):
        w2.open_project(target)
    assert asked and "was moved or deleted" in asked[0][0] and asked[0][1] is False
    assert w2.state.clip.path == moved.resolve() and len(w2.state.takes) == 2


def test_a_changed_source_is_reported_and_can_be_opened_anyway(make_window, qtbot, source, tmp_path):
    w = make_window()
    open_and_wait(w, qtbot, source)
    _two_takes(w, qtbot)
    target = tmp_path / "p.stepedit"
    assert w.documents.save_project_now(target)
    x, sr = sf.read(source)
    sf.write(source, x * 0.8, sr, subtype="PCM_16")

    w2 = make_window()
    asked = []
    w2.ask_source_problem = lambda message, changed: asked.append((message, changed)) or "anyway"
    with qtbot.waitSignal(w2.documents.opened, timeout=60000):
        w2.open_project(target)
    assert asked[0][1] is True and "has changed since the project was saved" in asked[0][0]
    assert len(w2.state.takes) == 2
    assert "source changed" in w2.statusBar().currentMessage()


def test_closing_with_unsaved_takes_offers_to_save_them(make_window, qtbot, source, tmp_path, monkeypatch,
                                                        autosave_root):
    w = make_window()
    open_and_wait(w, qtbot, source)
    _two_takes(w, qtbot)
    asked = []
    w.ask_unsaved = lambda n: asked.append(n) or "cancel"
    w.close()
    assert asked == [2] and w.isVisible()  # cancelled: nothing closed, nothing lost
    target = tmp_path / "kept.stepedit"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(target), ""))
    w.ask_unsaved = lambda n: "save"
    w.close()
    assert not w.isVisible()
    assert len(read_project(target).takes) == 2
    assert not any(autosave_root.glob("*/autosave.stepedit"))  # saved: no autosave left over
