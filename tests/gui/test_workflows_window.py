"""Game-voice workflows in the window (issue 10): recipes saved from and loaded into the window,
variations grids rendered as takes named by level and auditioned with the arrow keys, "Export
starred" through the delivery settings, the export dialog's delivery presets, and projects
that keep variation takes.  The real window, driven through its menus, buttons and dialogs,
on LJ001-0004 (22.05 kHz real speech)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from stepedit_app.audio.analysis import loudness_lufs
from stepedit_app.gui.dialogs import ExportDialog, ExportSettings
from stepedit_app.gui.dialogs_workflows import DeliverySummaryDialog, VariationsDialog, parse_percent_levels
from stepedit_app.session.batch import process_line
from stepedit_app.session.recipe import load_recipe

from .conftest import open_and_wait, render_and_wait, set_slider

REGION = (1.0, 2.2)


def independent_true_peak_db(samples: np.ndarray) -> float:
    """True peak by FFT interpolation to 4x the rate (not the polyphase filter under test)."""
    a = np.asarray(samples, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    up = scipy.signal.resample(a, a.shape[0] * 4, axis=0)
    return 20 * np.log10(max(np.abs(up).max(), np.abs(a).max()))


def _focus(qtbot, widget):
    widget.window().activateWindow()  # back from a dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=2000)
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)


def _open_grid_dialog(w) -> VariationsDialog:
    w.actions["variations"].trigger()
    dlg = w.last_dialog
    assert isinstance(dlg, VariationsDialog) and dlg.isVisible()
    return dlg


def render_grid(w, qtbot, control="emotion:angry", levels="25, 50, 75, 100", iterations=1, presets=()):
    """Render Variations from the Workflows menu, filling the dialog as a user does."""
    dlg = _open_grid_dialog(w)
    dlg.control.setCurrentIndex(dlg.control.findData(control))
    dlg.levels.setText(levels)
    dlg.iterations.setValue(iterations)
    dlg.set_presets_checked(list(presets))
    assert dlg.ok.isEnabled(), dlg.preview.text()
    with qtbot.waitSignal(w.renderer.finished, timeout=180000) as done:
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    return done.args[0]


def _export_dialog(w, action: str) -> ExportDialog:
    w.actions[action].trigger()
    dlg = w.last_dialog
    assert isinstance(dlg, ExportDialog) and dlg.isVisible()
    return dlg


def _choose(box, data) -> None:
    i = box.findData(data)
    assert i >= 0, data
    box.setCurrentIndex(i)


# --- recipes ---------------------------------------------------------------------------------
def test_save_a_recipe_from_the_window_and_load_it_back(opened, qtbot, tmp_path, monkeypatch, female_clip_path):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "angry", 60)
    set_slider(w, "style", "whisper", 20)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1
    take = st.selected_take
    # The export dialog holds the delivery settings; "Save as Recipe…" writes them with the sliders.
    dlg = _export_dialog(w, "export")
    _choose(dlg.loudness, "aswg-portable")
    assert (dlg.lufs.value(), dlg.tolerance.value(), dlg.peak.value()) == (-18.0, 2.0, -1.0)
    _choose(dlg.format, ".flac")
    _choose(dlg.depth, "PCM_16")
    _choose(dlg.rate, 44100)
    dlg.trim_head.setChecked(True)
    dlg.tail_pad.setValue(150)
    dlg.template.setText("{name}_{emotion}")
    recipe_path = tmp_path / "recipes" / "guards.json"
    recipe_path.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(recipe_path), ""))
    with qtbot.waitSignal(w.workflows.recipe_saved, timeout=5000):
        qtbot.mouseClick(dlg.recipe_btn, Qt.MouseButton.LeftButton)
    d = json.loads(recipe_path.read_text())
    assert d["engine"] == "prosody" and d["request"]["emotions"] == {"angry": 0.6}
    assert d["request"]["styles"] == {"whisper": 0.2} and d["request"]["iterations"] == 1
    assert {k: d["delivery"][k] for k in (
        "preset", "format", "bit_depth", "sample_rate", "lufs", "true_peak", "tolerance", "naming")} == {
        "preset": "aswg-portable", "format": "flac", "bit_depth": 16, "sample_rate": 44100, "lufs": -18.0,
        "true_peak": -1.0, "tolerance": 2.0, "naming": "{name}_{emotion}"}
    assert d["delivery"]["trim"]["head"] is True and d["delivery"]["pad"]["tail_ms"] == 150
    assert load_recipe(recipe_path).delivery.sample_rate == 44100  # what the batch reads
    assert not list(recipe_path.parent.glob(".*"))  # atomic: no temporary file left
    dlg.reject()

    # What the window exports with these settings is what the batch delivers: export the take
    # by hand, then run the batch's own line function on the same region with the recipe
    # (same dither seed), and compare the files bit for bit.
    out = tmp_path / "by_hand"
    settings = ExportSettings.from_delivery(load_recipe(recipe_path).delivery, out)
    with qtbot.waitSignal(w.workflows.exported, timeout=60000) as ex:
        assert w.export_take(settings)
    by_hand = ex.args[0][0].path
    assert by_hand.name == "LJ001-0004_angry60-whisper20.flac"
    row = process_line({"line": "1", "input": "x", "source": str(female_clip_path), "output": str(tmp_path / "b.flac"),
                        "output_label": "b.flac", "key": "k", "seed": take.id, "recipe": d, "region": "1.0:2.0",
                        "transcript": None, "overrides": {}})
    assert row["status"] == "done", row
    a, _ = sf.read(by_hand, dtype="int32")
    b, _ = sf.read(tmp_path / "b.flac", dtype="int32")
    assert np.array_equal(a, b)

    # Change everything, then load the recipe back: sliders, iterations and export settings.
    w.actions["reset"].trigger()
    w.controls.iterations.setValue(4)
    w.workflows.set_export_settings(ExportSettings(tmp_path))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(recipe_path), ""))
    with qtbot.waitSignal(w.workflows.recipe_loaded, timeout=5000):
        w.actions["load_recipe"].trigger()
    assert st.values[("emotion", "angry")] == pytest.approx(0.6)
    assert st.values[("style", "whisper")] == pytest.approx(0.2)
    assert w.controls.rows[("emotion", "angry")].percent == 60 and w.controls.iterations.value() == 1
    assert "recipe loaded: guards.json" in w.statusBar().currentMessage()
    dlg = _export_dialog(w, "export")
    s = dlg.settings()
    assert (dlg.loudness.currentData(), s.lufs, s.ext, s.subtype, s.sample_rate) == (
        "aswg-portable", -18.0, ".flac", "PCM_16", 44100)
    assert s.trim_head and not s.trim_tail and s.tail_pad_ms == 150 and s.template == "{name}_{emotion}"
    dlg.reject()
    # Loading is one undo step.
    assert "load recipe guards.json" in w.actions["undo"].text()
    w.actions["undo"].trigger()
    assert st.values[("emotion", "angry")] == 0.0 and st.iterations == 4


@pytest.mark.parametrize(("delivery", "engine", "message"), [
    ({"lufs": -70}, "prosody", "delivery.lufs: -70 out of range (-40..-5)"),
    ({"bit_depth": 12}, "prosody", "delivery.bit_depth: 12 is not one of 16, 24, float"),
    ({"naming": "{name}_{speaker}"}, "prosody", "delivery.naming: unknown field {speaker}"),
    ({}, "nope", 'engine: "nope" is unknown'),
])
def test_an_invalid_recipe_is_one_line_naming_the_field_and_changes_nothing(
        opened, qtbot, tmp_path, monkeypatch, delivery, engine, message):
    w, st = opened, opened.state
    set_slider(w, "emotion", "sad", 30)
    before = (dict(st.values), st.iterations, w.workflows.export_settings())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "stepedit-recipe", "version": 1, "engine": engine,
                               "request": {"emotions": {"angry": 0.9}, "iterations": 3}, "delivery": delivery}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(bad), ""))
    with qtbot.waitSignal(w.error_shown, timeout=5000) as err:
        w.actions["load_recipe"].trigger()
    line = err.args[0]
    assert message in line and "bad.json" in line and "\n" not in line
    assert w.last_error.isVisible() and w.last_error.text() == line
    assert (dict(st.values), st.iterations, w.workflows.export_settings()) == before
    w.last_error.close()


def test_a_recipe_for_controls_this_engine_lacks_is_refused(opened, qtbot, tmp_path, monkeypatch):
    w, st = opened, opened.state
    r = tmp_path / "r.json"
    r.write_text(json.dumps({"schema": "stepedit-recipe", "version": 1,
                             "request": {"emotions": {"angri": 0.5}}}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(r), ""))
    with qtbot.waitSignal(w.error_shown, timeout=5000) as err:
        w.actions["load_recipe"].trigger()
    assert "r.json: request." in err.args[0] and "angri" in err.args[0]
    assert all(v == 0 for v in st.values.values())


# --- variations --------------------------------------------------------------------------------
def test_render_variations_fills_the_takes_named_by_level_and_arrows_audition_them(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(*REGION)
    set_slider(w, "emotion", "sad", 20)
    history = w.actions["undo"].text()
    # The grid runs on the render worker; its takes are published on the GUI thread.
    added_on = []
    st.events.connect("takes", lambda ev, t: added_on.append(threading.get_ident()) if ev == "added" else None)
    with qtbot.waitSignal(w.renderer.render_thread, timeout=10000) as th:
        assert render_grid(w, qtbot, levels="25, 50, 75 %, 100") == 4
    gui = threading.get_ident()
    assert th.args[0] != gui and added_on == [gui] * 4
    names = [t.name for t in st.takes]
    assert names == ["angry 25%", "angry 50%", "angry 75%", "angry 100%"]
    for t, level in zip(st.takes, (0.25, 0.5, 0.75, 1.0)):
        assert dict(t.request.emotions) == {"sad": 0.2, "angry": level}  # on top of the sliders
        assert t.region.seconds(st.clip.rate) == pytest.approx(REGION, abs=1e-3)
    # The list shows the grid newest first; the last cell is selected and heard as B.
    lst = w.takes_panel.list
    assert [lst.item(i).text().split("\n")[0].strip(" •★") for i in range(lst.count())] == names[::-1]
    assert st.selected_take is st.takes[-1] and w.playback.heard is st.takes[-1]
    labels = [b.format() for b in w.controls.progress_bars]
    assert labels == [f"angry {n}%  ({k} / 4)  %p%" for k, n in enumerate((25, 50, 75, 100), 1)]
    assert "4 variations ready" in w.statusBar().currentMessage()
    # The sliders are untouched: no undo step was added by the grid.
    assert w.actions["undo"].text() == history and st.values[("emotion", "angry")] == 0.0
    # Arrow keys audition the cells one by one: each is loaded as B and diffed.
    _focus(qtbot, lst)
    w.playback.toggle_ab()
    assert st.source == "B"
    for expected in reversed(st.takes[:-1]):
        with qtbot.waitSignal(w.analysis.diff_ready, timeout=60000):
            QTest.keyClick(lst, Qt.Key.Key_Down)
        assert st.selected_take is expected and w.playback.heard is expected
        assert w.playback.player.source == "B" and expected.name in w.diff_view.title.text()
    QTest.keyClick(lst, Qt.Key.Key_Up)
    assert st.selected_take.name == "angry 50%"
    # Deleting a cell is undoable like any take.
    w.actions["delete"].trigger()
    assert [t.name for t in st.takes] == ["angry 25%", "angry 75%", "angry 100%"]
    w.actions["undo"].trigger()
    assert [t.name for t in st.takes] == names


def test_variations_dialog_checks_the_grid_before_rendering(opened, qtbot):
    w = opened
    dlg = _open_grid_dialog(w)
    dlg.control.setCurrentIndex(dlg.control.findData("style:whisper"))
    dlg.levels.setText("30, 60, 130")
    assert not dlg.ok.isEnabled() and "130% out of range (0..100 %)" in dlg.preview.text()
    dlg.levels.setText("30, 30")
    assert not dlg.ok.isEnabled() and "given twice" in dlg.preview.text()
    dlg.levels.setText("30,60")
    dlg.set_presets_checked(["battle_shout", "weary_elder"])
    assert dlg.ok.isEnabled() and dlg.ok.text() == "Render 4 Variations"
    assert [c.label for c in dlg.grid()] == ["Battle shout · whisper 30%", "Battle shout · whisper 60%",
                                             "Weary elder · whisper 30%", "Weary elder · whisper 60%"]
    dlg.control.setCurrentIndex(dlg.control.findData("scale"))
    dlg.levels.setText("")
    assert [c.label for c in dlg.grid()] == ["Battle shout", "Weary elder"]
    dlg.set_presets_checked([])
    assert not dlg.ok.isEnabled() and "check one or more presets" in dlg.preview.text()
    dlg.reject()
    assert parse_percent_levels("25, 50%,75 ,100") == [0.25, 0.5, 0.75, 1.0]


def test_cancel_mid_grid_keeps_the_finished_cells(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(*REGION)
    engine = st.session.engine
    original_edit = engine.edit

    def slow_from_the_third_cell(prepared, request, ctx):
        if request.emotions.get("angry", 0) >= 0.7:  # cells 3 and 4 "take long" until cancelled
            for _ in range(4000):
                if ctx.cancel.cancelled:
                    break
                yield 0.5
                threading.Event().wait(0.005)
        return (yield from original_edit(prepared, request, ctx))

    engine.edit = slow_from_the_third_cell
    arrived = []

    def on_take(take, _follow):
        arrived.append(take)
        if len(arrived) == 2:
            QTest.keyClick(w.takes_panel.list, Qt.Key.Key_Escape)  # Esc: Cancel Render

    w.renderer.take_ready.connect(on_take)
    assert render_grid(w, qtbot) == 2
    assert [t.name for t in st.takes] == ["angry 25%", "angry 50%"]
    assert "variations cancelled; 2 of 4 variations kept" in w.statusBar().currentMessage()
    bars = [b.format() for b in w.controls.progress_bars]
    assert bars[2:] == ["angry 75%  (3 / 4)  cancelled", "angry 100%  (4 / 4)  cancelled"]
    assert not w.renderer.rendering and w.controls.render_btn.isEnabled()
    # A normal render afterwards works as before.
    engine.edit = original_edit
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1


def test_selection_follows_new_cells_until_the_user_picks_a_take_and_the_loop_hears_them(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(*REGION)
    w.controls.iterations.setValue(1)
    set_slider(w, "emotion", "happy", 40)
    assert render_and_wait(w, qtbot) == 1
    mine = st.takes[0]
    # Loop the region: cells that finish are heard from the next pass.
    w.actions["loop"].trigger()
    assert w.playback.play() and w.playback.playing
    assert render_grid(w, qtbot, control="emotion:fear", levels="40, 80") == 2
    last = st.takes[-1]
    assert st.selected_take is last
    qtbot.waitUntil(lambda: w.playback.heard is last, timeout=15000)  # swapped in at a loop boundary
    assert w.playback.playing
    # The user picks a take while a grid renders: the selection stays with it.
    picked = []

    def on_take(take, _follow):
        if not picked:
            st.select_take(mine.id)
            picked.append(take)

    w.renderer.take_ready.connect(on_take)
    assert render_grid(w, qtbot, control="emotion:fear", levels="20, 60") == 2
    assert st.selected_take is mine and [t.name for t in st.takes[-2:]] == ["fear 20%", "fear 60%"]
    w.playback.stop()


# --- export ----------------------------------------------------------------------------------
def test_export_starred_delivers_every_starred_take_in_spec(opened, qtbot, tmp_path):
    w, st = opened, opened.state
    st.set_region_seconds(*REGION)
    assert render_grid(w, qtbot, control="emotion:angry", levels="30, 60, 90") == 3
    assert not w.takes_panel.export_starred_btn.isEnabled()
    lst = w.takes_panel.list
    _focus(qtbot, lst)
    QTest.keyClick(lst, Qt.Key.Key_S)  # star the selected (90 %)
    QTest.keyClick(lst, Qt.Key.Key_Down)
    QTest.keyClick(lst, Qt.Key.Key_Down)
    QTest.keyClick(lst, Qt.Key.Key_S)  # and 30 %
    starred = [t for t in st.takes if t.starred]
    assert [t.name for t in starred] == ["angry 30%", "angry 90%"]
    assert w.takes_panel.export_starred_btn.isEnabled()
    qtbot.mouseClick(w.takes_panel.export_starred_btn, Qt.MouseButton.LeftButton)
    dlg = w.last_dialog
    assert isinstance(dlg, ExportDialog) and dlg.windowTitle() == "Export 2 starred takes"
    _choose(dlg.loudness, "aswg-console")
    _choose(dlg.rate, 48000)
    _choose(dlg.depth, "PCM_16")
    dlg.trim_head.setChecked(True)
    dlg.trim_tail.setChecked(True)
    dlg.tail_pad.setValue(100)
    out = tmp_path / "delivery"
    dlg.folder.setText(str(out))
    assert dlg.save_btn.text() == "Export 2 Takes" and "−24 LUFS ±2 LU" in dlg.note.text()
    with qtbot.waitSignal(w.workflows.exported, timeout=120000) as ex:
        qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    done = ex.args[0]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"LJ001-0004_angry{n}_{t.id}.wav" for n, t in zip((30, 90), starred))
    for e in done:
        y, rate = sf.read(e.path, dtype="float64")
        assert rate == 48000 and sf.info(e.path).subtype == "PCM_16"
        assert abs(loudness_lufs(y, rate) - -24.0) <= 0.5
        assert independent_true_peak_db(y) < -1.0
        assert not np.any(y[-int(0.1 * rate):])  # the tail pad is digital silence
        assert e.take.exported and e.report.in_spec
    # A summary lists each file, in spec.
    summary = w.last_dialog
    assert isinstance(summary, DeliverySummaryDialog)
    t = summary.table
    assert t.rowCount() == 2 and all(t.item(r, 5).text() == "✓ in spec" for r in range(2))
    assert "All 2 in spec" in summary.header.text()
    assert "exported 2 files" in w.statusBar().currentMessage()
    assert all("•" not in lst.item(i).text().split("\n")[0] for i in range(lst.count())
               if "30%" in lst.item(i).text() or "90%" in lst.item(i).text())
    summary.close()
    assert not list(out.glob(".*"))


def test_export_dialog_delivery_presets_and_the_as_rendered_path(opened, qtbot, tmp_path):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "happy", 50)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1
    take = st.selected_take
    dlg = _export_dialog(w, "export")
    # A preset fills the target; typing another value makes it a custom target.
    _choose(dlg.loudness, "ebu-r128")
    assert (dlg.lufs.value(), dlg.tolerance.value(), dlg.peak.value()) == (-23.0, 0.5, -1.0)
    dlg.lufs.setValue(-20.0)
    assert dlg.loudness.currentData() == "custom" and dlg.settings().preset is None
    _choose(dlg.loudness, "ebu-r128")
    assert dlg.lufs.value() == -23.0 and dlg.settings().preset == "ebu-r128"
    # FLAC holds no float samples.
    _choose(dlg.format, ".flac")
    assert not dlg.depth.model().item(dlg.depth.findData("FLOAT")).isEnabled()
    _choose(dlg.format, ".wav")
    _choose(dlg.depth, "FLOAT")
    assert not dlg.dither.isEnabled()
    _choose(dlg.depth, "PCM_24")
    _choose(dlg.scope, "region")
    dlg.folder.setText(str(tmp_path))
    dlg.template.setText("{name}_{nope}")
    assert not dlg.save_btn.isEnabled() and "unknown field {nope}" in dlg.preview_label.text()
    dlg.template.setText("{name}_{emotion}_{take}")
    assert dlg.save_btn.isEnabled() and f"LJ001-0004_happy50_{take.id}.wav" in dlg.preview_label.text()
    with qtbot.waitSignal(w.workflows.exported, timeout=60000) as ex:
        qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    e = ex.args[0][0]
    y, rate = sf.read(e.path, dtype="float64")
    assert rate == st.clip.rate and sf.info(e.path).subtype == "PCM_24"
    assert len(y) == take.segment.frames  # the region alone
    assert abs(loudness_lufs(y, rate) - -23.0) <= 0.5 and independent_true_peak_db(y) < -1.0
    assert "in spec" in w.statusBar().currentMessage() and take.exported
    # The next export starts from these settings.
    dlg = _export_dialog(w, "export")
    assert dlg.loudness.currentData() == "ebu-r128" and dlg.scope.currentData() == "region"
    # No loudness target, same rate, no trim or pad: written as rendered (streamed splice).
    _choose(dlg.loudness, "")
    _choose(dlg.scope, "full")
    _choose(dlg.depth, "PCM_16")
    assert "Written as rendered" in dlg.note.text() and not dlg.settings().processed
    with qtbot.waitSignal(w.documents.exported, timeout=60000) as ex:
        qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    got, _ = sf.read(ex.args[0], dtype="int16")
    src, _ = sf.read(st.clip.path, dtype="int16")
    s = take.region.start
    assert np.array_equal(got[:s], src[:s])  # outside the region, the source bit for bit


def test_export_starred_with_nothing_starred_says_so(opened, qtbot):
    w = opened
    assert not w.actions["export_starred"].isEnabled()
    with qtbot.waitSignal(w.status_changed, timeout=2000) as s:
        w.workflow_actions.export_starred_dialog()
    assert "No starred takes" in s.args[0]


# --- projects --------------------------------------------------------------------------------
def test_a_project_keeps_variation_takes_with_names_and_stars(make_window, qtbot, tmp_path, monkeypatch,
                                                               female_clip_path):
    import shutil

    src = tmp_path / "guard.wav"
    shutil.copy(female_clip_path, src)
    w = make_window()
    open_and_wait(w, qtbot, src)
    st = w.state
    st.set_region_seconds(*REGION)
    assert render_grid(w, qtbot, control="style:whisper", levels="25, 75", iterations=2) == 2
    assert [t.name for t in st.takes] == ["whisper 25%", "whisper 75%"]
    st.session.takes.set_starred(st.takes[1], True)
    st.session.takes.rename(st.takes[0], "whisper 25% (director's pick)")
    target = tmp_path / "guard.stepedit"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(target), ""))
    with qtbot.waitSignal(w.documents.saved, timeout=30000):
        w.actions["save"].trigger()
    before = [(t.id, t.name, t.starred, t.iteration, t.iterations, t.request.to_dict()) for t in st.takes]

    w2 = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **kw: (str(target), ""))
    with qtbot.waitSignal(w2.documents.opened, timeout=60000):
        w2.actions["open_project"].trigger()
    after = [(t.id, t.name, t.starred, t.iteration, t.iterations, t.request.to_dict()) for t in w2.state.takes]
    assert after == before
    assert all(np.array_equal(a.segment.samples, b.segment.samples) for a, b in zip(st.takes, w2.state.takes))
    assert w2.actions["export_starred"].isEnabled() and w2.takes_panel.export_starred_btn.isEnabled()


def test_export_errors_are_one_line_and_write_nothing(opened, qtbot, tmp_path):
    w, st = opened, opened.state
    st.set_region_seconds(*REGION)
    assert render_grid(w, qtbot, control="emotion:happy", levels="40, 80") == 2
    for t in st.takes:
        st.session.takes.set_starred(t, True)
    # A template that gives two takes one name: the dialog says so and will not export.
    dlg = _export_dialog(w, "export_starred")
    dlg.template.setText("{name}_{engine}")
    assert not dlg.save_btn.isEnabled()
    assert "two takes would be written to LJ001-0004_prosody.wav" in dlg.preview_label.text()
    dlg.reject()
    # A folder that cannot be made (a file is in the way): one line, nothing written.
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    settings = ExportSettings(blocker / "out", lufs=-23.0, preset="ebu-r128")
    with qtbot.waitSignal(w.error_shown, timeout=5000) as err:
        assert not w.workflow_actions.export_starred(settings)
    assert "cannot create the export folder" in err.args[0] and "\n" not in err.args[0]
    w.last_error.close()
    assert not any(t.exported for t in st.takes)
    # The next export works, and its summary is its own.
    good = ExportSettings(tmp_path / "ok", lufs=-23.0, preset="ebu-r128")
    with qtbot.waitSignal(w.workflows.exported, timeout=120000):
        assert w.workflow_actions.export_starred(good)
    assert isinstance(w.last_dialog, DeliverySummaryDialog) and w.last_dialog.table.rowCount() == 2
    assert len(list((tmp_path / "ok").iterdir())) == 2
    w.last_dialog.close()


def test_save_recipe_from_the_menu_uses_the_kept_export_settings(opened, qtbot, tmp_path, monkeypatch):
    w = opened
    set_slider(w, "style", "whisper", 40)
    w.workflows.set_export_settings(ExportSettings(tmp_path, "{name}_{line}", lufs=-16.0, preset="streaming",
                                                   tolerance_lu=1.0, sample_rate=48000, subtype="PCM_24"))
    target = tmp_path / "whisper"  # no suffix: .json is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **kw: (str(target), ""))
    with qtbot.waitSignal(w.workflows.recipe_saved, timeout=5000) as saved:
        w.actions["save_recipe"].trigger()
    assert saved.args[0] == tmp_path / "whisper.json"
    r = load_recipe(saved.args[0])
    assert dict(r.request.styles) == {"whisper": 0.4} and r.engine == "prosody"
    assert (r.delivery.preset, r.delivery.lufs, r.delivery.sample_rate, r.delivery.naming) == (
        "streaming", -16.0, 48000, "{name}_{line}")
    assert "recipe saved" in w.statusBar().currentMessage()
