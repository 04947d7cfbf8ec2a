"""Keyboard and mouse as in audio editors (issue 8, problems 2-5 and undo).

Keys are sent through Qt's real path (shortcut override, then the key press) with QTest, and
mouse gestures as real press/move/release events on the views' viewport.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from .conftest import click, drag, region_seconds, render_and_wait, render_two_takes, set_slider


def _render_two_takes(w, qtbot):
    w.state.set_region_seconds(1.0, 3.0)
    render_two_takes(w, qtbot, "emotion", "sad", 50)


def _focus(qtbot, widget):
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget or widget.isAncestorOf(QApplication.focusWidget()),
                    timeout=2000)


# --- 2: Enter commits the focused field; renders only from sliders and the button ------------
def test_enter_in_a_percent_box_commits_the_typed_value_and_does_not_render(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    w.controls.iterations.setValue(1)
    row = w.controls.rows[("emotion", "happy")]
    set_slider(w, "emotion", "happy", 73)
    started = []
    w.renderer.started.connect(started.append)
    _focus(qtbot, row.spin)
    row.spin.lineEdit().selectAll()
    QTest.keyClicks(row.spin, "70")
    assert st.values[("emotion", "happy")] == pytest.approx(0.73)  # not yet: typing is not a value
    QTest.keyClick(row.spin, Qt.Key.Key_Return)
    assert st.values[("emotion", "happy")] == pytest.approx(0.70)
    assert row.slider.value() == 70
    qtbot.wait(100)
    assert started == [] and not w.renderer.rendering
    # Enter on the slider renders, with the value just entered.
    _focus(qtbot, row.slider)
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        QTest.keyClick(row.slider, Qt.Key.Key_Return)
    assert st.takes[-1].request.emotions["happy"] == pytest.approx(0.70)
    # Enter on the focused Render button renders too.
    _focus(qtbot, w.controls.render_btn)
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        QTest.keyClick(w.controls.render_btn, Qt.Key.Key_Return)
    assert len(st.takes) == 2


def test_enter_finishes_a_rename_without_rendering(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "sad", 30)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1
    take = st.selected_take
    started = []
    w.renderer.started.connect(started.append)
    _focus(qtbot, w.takes_panel.list)
    QTest.keyClick(w.takes_panel.list, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=2000)
    editor = QApplication.focusWidget()
    editor.selectAll()
    QTest.keyClicks(editor, "guard line 7")  # letters (S, L...) type, they do not star or loop
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: take.name == "guard line 7", timeout=2000)  # the view commits queued
    assert not take.starred and not st.loop
    qtbot.wait(100)
    assert started == []
    assert "guard line 7" in w.takes_panel.list.currentItem().text()


# --- 3: mouse selection of takes works like the keys --------------------------------------------
def test_clicking_a_take_loads_it_like_the_arrow_keys(opened, qtbot):
    w, st = opened, opened.state
    _render_two_takes(w, qtbot)
    first = st.takes[0]  # the older take, shown second
    lst = w.takes_panel.list
    item = w.takes_panel._item(first.id)
    rect = lst.visualItemRect(item)
    with qtbot.waitSignal(w.analysis.diff_ready, timeout=60000) as got:
        qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert st.selected_take is first and got.args[0] is first
    assert w.diff_view.table.rowCount() > 0 and first.name in w.diff_view.title.text()
    assert w.takes_panel.export_btn.isEnabled() and w.takes_panel.star_btn.isEnabled()
    assert w.actions["export"].isEnabled()
    w.playback.toggle_ab()
    assert st.source == "B" and w.playback.heard is first
    # Keys and clicks are one selection: Up moves to the newer take.
    _focus(qtbot, lst)
    QTest.keyClick(lst, Qt.Key.Key_Up)
    assert st.selected_take is st.takes[1]
    assert w.playback.heard is st.takes[1]  # B follows the selection


# --- 4: drag always starts a new selection; Shift extends ---------------------------------------
def test_drag_inside_a_selection_starts_a_new_one_and_shift_extends(opened, qtbot):
    w = opened
    drag(w, qtbot, 1.0, 3.0)
    assert region_seconds(w) == pytest.approx((1.0, 3.0), abs=0.02)
    drag(w, qtbot, 2.0, 2.5)  # inside the selection: a new one, not a move
    assert region_seconds(w) == pytest.approx((2.0, 2.5), abs=0.02)
    drag(w, qtbot, 3.5, 4.0, shift=True)  # Shift-drag extends from the far edge
    assert region_seconds(w) == pytest.approx((2.0, 4.0), abs=0.02)
    click(w, qtbot, 1.2, shift=True)  # Shift-click extends too
    assert region_seconds(w) == pytest.approx((1.2, 4.0), abs=0.02)
    drag(w, qtbot, 0.5, 0.9, plot="spec")  # the spectrogram selects the same way
    assert region_seconds(w) == pytest.approx((0.5, 0.9), abs=0.02)
    click(w, qtbot, 2.2)  # a plain click moves the cursor, keeps the selection
    assert w.state.cursor == pytest.approx(2.2, abs=0.02)
    assert region_seconds(w) == pytest.approx((0.5, 0.9), abs=0.02)


def test_region_edges_can_still_be_dragged(opened, qtbot):
    w = opened
    w.state.set_region_seconds(1.0, 3.0)
    line = w.timeline.regions[0].lines[1]
    assert line.movable
    line.setValue(3.5)
    line.sigPositionChangeFinished.emit(line)
    assert region_seconds(w) == pytest.approx((1.0, 3.5), abs=0.01)


# --- 5: Space, L, Tab work whatever has focus, except in text entry -----------------------------
def test_space_l_tab_work_from_a_percent_box_and_a_slider(opened, qtbot):
    w, st = opened, opened.state
    _render_two_takes(w, qtbot)
    row = w.controls.rows[("emotion", "angry")]
    for target in (row.spin, row.slider, w.controls.render_btn, w.controls.iterations):
        _focus(qtbot, target)
        QTest.keyClick(target, Qt.Key.Key_L)
        assert st.loop, target
        QTest.keyClick(target, Qt.Key.Key_L)
        assert not st.loop
        QTest.keyClick(target, Qt.Key.Key_Space)
        assert w.playback.playing, target
        QTest.keyClick(target, Qt.Key.Key_Space)
        assert not w.playback.playing
        QTest.keyClick(target, Qt.Key.Key_Tab)
        assert st.source == "B", target
        QTest.keyClick(target, Qt.Key.Key_Tab)
        assert st.source == "A"
        assert QApplication.focusWidget() is target or target.isAncestorOf(QApplication.focusWidget())
    assert row.spin.value() == 0  # nothing was typed into the box


def test_keys_type_into_text_fields(opened, qtbot):
    w, st = opened, opened.state
    box = w.controls.filter
    _focus(qtbot, box)
    QTest.keyClicks(box, "sl ")
    QTest.keyClick(box, Qt.Key.Key_Space)
    assert box.text() == "sl  " and not st.loop and not w.playback.playing
    QTest.keyClick(box, Qt.Key.Key_Tab)  # Tab leaves the field; no A/B
    assert st.source == "A" and QApplication.focusWidget() is not box


# --- undo and redo cover sliders and selections -------------------------------------------------
def test_undo_redo_cover_slider_and_selection_changes(opened, qtbot):
    w, st = opened, opened.state
    drag(w, qtbot, 1.0, 2.0)
    row = w.controls.rows[("style", "whisper")]
    row.slider.setSliderDown(True)  # a mouse drag: many values, one step
    for v in range(0, 45, 5):
        row.slider.setValue(v)
    row.slider.setSliderDown(False)
    assert w.actions["undo"].text() == "&Undo whisper 0 → 40 %"
    drag(w, qtbot, 3.0, 4.0)
    QTest.keySequence(w, "Ctrl+Z")  # the selection first
    assert region_seconds(w) == pytest.approx((1.0, 2.0), abs=0.02)
    assert w.timeline.region_span() == pytest.approx((1.0, 2.0), abs=0.02)
    QTest.keySequence(w, "Ctrl+Z")  # then the slider
    assert st.values[("style", "whisper")] == 0.0 and row.slider.value() == 0
    QTest.keySequence(w, "Ctrl+Shift+Z")
    assert row.slider.value() == 40 and row.spin.value() == 40
