"""Two render outcomes in the real window: "Keep length" (lip-synced lines: the region keeps its
length to the sample, issue 6) and a render that converges early ("converged at iteration k":
no duplicate take, the result selected and said so in the status bar)."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .conftest import render_and_wait, set_slider

REGION = (0.8, 2.0)


def _region_frames(st) -> int:
    return st.region.end - st.region.start


def test_keep_length_keeps_the_region_to_the_sample_and_travels_with_recipes(opened, qtbot, tmp_path, monkeypatch):
    w, st = opened, opened.state
    box = w.controls.keep_duration
    assert box.isVisible() and not box.isChecked()
    st.set_region_seconds(*REGION)
    set_slider(w, "speed", "slower", 80)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1
    free = st.selected_take
    assert free.segment.frames > _region_frames(st) * 1.05  # slower: longer without the option

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert box.isChecked() and st.keep_duration and st.request().keep_duration
    assert render_and_wait(w, qtbot) == 1
    kept = st.selected_take
    assert kept.segment.frames == _region_frames(st)
    assert kept.request.keep_duration
    assert not np.array_equal(kept.segment.samples, st.clip.samples[st.region.start:st.region.end])

    # a recipe saved from the window carries it
    target = tmp_path / "lip.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(target), ""))
    w.actions["save_recipe"].trigger()
    qtbot.waitUntil(target.exists, timeout=10000)
    assert json.loads(target.read_text())["request"]["keep_duration"] is True

    # undo-free toggle back from the state: the box follows
    st.set_keep_duration(False)
    assert not box.isChecked()


def test_an_engine_that_cannot_keep_length_hides_the_box_and_drops_the_option(opened, qtbot, converging_engine):
    w, st = opened, opened.state
    qtbot.mouseClick(w.controls.keep_duration, Qt.MouseButton.LeftButton)
    assert st.keep_duration
    assert w.renderer.set_engine("converges")
    assert not w.controls.keep_duration.isVisible() and not st.keep_duration
    assert not st.request().keep_duration


def test_a_render_that_converges_early_says_so_and_selects_its_result(opened, qtbot, converging_engine):
    w, st = opened, opened.state
    assert w.renderer.set_engine("converges")
    st.set_region_seconds(*REGION)
    set_slider(w, "emotion", "happy", 60)
    w.controls.iterations.setValue(3)
    with qtbot.waitSignal(w.renderer.converged, timeout=60000) as conv:
        assert render_and_wait(w, qtbot) == 1
    assert conv.args == [1]
    assert len(st.takes) == 1  # no take repeating iteration 1
    take = st.selected_take
    assert take is not None and take.iteration == 1
    status = w.statusBar().currentMessage()
    assert "converged at iteration 1" in status and "1 take ready" in status
    bars = w.controls.progress_bars
    assert len(bars) == 3
    assert [("not needed" in b.format()) for b in bars] == [False, True, True]
