"""The editor window driven end to end on real speech (LJ001-0004, 22.05 kHz, 5.1 s)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt

from stepedit_app.gui.dialogs import ExportSettings

from .conftest import open_and_wait, render_and_wait, set_slider


def test_open_select_render_ab_export_roundtrip(opened, qtbot, tmp_path, female_clip_path):
    w, st = opened, opened.state
    assert st.clip.duration == pytest.approx(5.1, abs=0.2)
    st.set_region_seconds(1.0, 3.0)
    assert st.region.seconds(st.clip.rate) == pytest.approx((1.0, 3.0), abs=1e-3)
    set_slider(w, "emotion", "happy", 60)
    assert st.values[("emotion", "happy")] == pytest.approx(0.6)
    w.controls.iterations.setValue(2)

    # The engine must run on a worker thread: record where edit() executes.
    ran_on: list[int] = []
    engine = st.session.engine
    original_edit = engine.edit

    def spying_edit(*a, **kw):
        ran_on.append(threading.get_ident())
        return (yield from original_edit(*a, **kw))

    engine.edit = spying_edit
    added_on: list[int] = []
    st.events.connect("takes", lambda ev, t: added_on.append(threading.get_ident()) if ev == "added" else None)
    with qtbot.waitSignal(w.renderer.render_thread, timeout=10000) as th:
        with qtbot.waitSignal(w.renderer.finished, timeout=120000) as done:
            w.renderer.render()
    assert done.args == [2]
    gui = threading.get_ident()
    assert ran_on and all(t != gui for t in ran_on)
    assert th.args[0] != gui
    # Takes are published on the GUI thread only.
    assert added_on == [gui, gui]
    assert len(st.takes) == 2 and w.takes_panel.list.count() == 2

    # The newest take is selected; its diff arrives from a worker.
    take = st.selected_take
    assert take is not None and take.iteration == 2
    qtbot.waitUntil(lambda: w.diff_view.table.rowCount() > 0, timeout=60000)

    # A/B on the (null) audio device: switch while playing, no restart.
    assert w.playback.play()
    assert w.playback.playing
    w.playback.toggle_ab()
    assert w.playback.player.source == "B" and st.source == "B"
    assert w.playback.playing
    w.playback.toggle_ab()
    assert w.playback.player.source == "A"
    w.playback.stop()
    assert not w.playback.playing

    # Export 16-bit WAV of the whole file (on a worker) and check it bit for bit outside the region.
    with qtbot.waitSignal(w.documents.exported, timeout=30000) as ex:
        assert w.export_take(ExportSettings(tmp_path, "{name}_{emotion}_{take}", ".wav", "PCM_16", "full", None, -1.0))
    out = ex.args[0]
    assert out.exists() and take.exported
    src, sr = sf.read(female_clip_path, dtype="int16", always_2d=True)
    got, sr2 = sf.read(out, dtype="int16", always_2d=True)
    assert sr2 == sr
    s, e = take.region.start, take.region.end
    n = take.segment.frames
    assert got.shape[0] == src.shape[0] + (n - (e - s))
    assert np.array_equal(got[:s], src[:s])
    assert np.array_equal(got[s + n :], src[e:])
    assert not np.array_equal(got[s : s + n][: e - s], src[s:e][:n])
    assert sf.info(female_clip_path).frames == src.shape[0]  # the source was never written


def test_cancel_keeps_finished_iterations_and_drops_the_partial_one(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(0.5, 4.5)
    set_slider(w, "style", "whisper", 50)
    w.controls.iterations.setValue(5)
    engine = st.session.engine
    original_edit = engine.edit

    def slow_from_iteration_2(prepared, request, ctx):
        # Iteration 2 is "long": it keeps yielding progress until the user cancels.
        if ctx.iteration >= 2:
            # until the user cancels (bounded only so that a broken cancel fails the test rather
            # than hanging it; on a loaded machine the GUI may take seconds to see the first take)
            deadline = time.monotonic() + 100.0
            while not ctx.cancel.cancelled and time.monotonic() < deadline:
                yield 0.5
                threading.Event().wait(0.005)
        return (yield from original_edit(prepared, request, ctx))

    engine.edit = slow_from_iteration_2
    got = []

    def on_take(take, last):
        got.append(take)
        if len(got) == 1:
            w.renderer.cancel()

    w.renderer.take_ready.connect(on_take)
    with qtbot.waitSignal(w.renderer.finished, timeout=120000) as done:
        w.renderer.render()
    assert done.args[0] == 1
    assert len(st.takes) == 1
    assert "render cancelled; 1 finished iteration kept" in w.statusBar().currentMessage()
    assert st.selected_take is got[0]


def test_corrupt_file_shows_one_line_dialog_and_window_stays_usable(opened, qtbot, tmp_path, female_clip_path):
    w = opened
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    with qtbot.waitSignal(w.error_shown, timeout=10000) as sig:
        assert w.open_file(bad)
    line = sig.args[0]
    assert "broken.wav" in line and "\n" not in line
    assert w.last_error is not None and w.last_error.isVisible()
    w.last_error.close()
    # Still usable: the previous clip is open and a render works.
    assert w.state.clip.path == female_clip_path.resolve()
    w.state.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "sad", 40)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1


def test_engine_failure_shows_dialog_and_keeps_takes(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.5)
    set_slider(w, "emotion", "angry", 50)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1

    def broken_edit(*a, **kw):
        raise RuntimeError("synthetic engine crash")
        yield  # pragma: no cover

    st.session.engine.edit = broken_edit
    with qtbot.waitSignal(w.error_shown, timeout=60000) as sig:
        with qtbot.waitSignal(w.renderer.finished, timeout=60000):
            w.renderer.render()
    assert "synthetic engine crash" in sig.args[0]
    assert "Traceback" in w.last_error.detailedText()
    w.last_error.close()
    assert len(st.takes) == 1 and w.takes_panel.list.count() == 1


def test_preset_round_trip_and_undo(window, qtbot):
    c, st = window.controls, window.state
    assert len(c.presets) >= 6
    assert c.load_preset("Tense guard")
    assert st.values[("emotion", "angry")] == pytest.approx(0.7)
    assert c.rows[("emotion", "angry")].percent == 70
    assert c.rows[("style", "serious")].percent == 30
    set_slider(window, "emotion", "happy", 25)
    c.save_preset("My test preset")
    assert "My test preset" in c.presets
    st.reset_controls()
    assert c.rows[("emotion", "happy")].percent == 0
    assert c.load_preset("My test preset")
    assert c.rows[("emotion", "happy")].percent == 25 and c.rows[("emotion", "angry")].percent == 70
    assert dict(st.request().emotions) == {"angry": 0.7, "happy": 0.25}
    st.undo()  # the preset was one step
    assert c.rows[("emotion", "happy")].percent == 0


def test_widget_writes_state_and_state_updates_widget(window):
    row = window.controls.rows[("emotion", "fear")]
    row.spin.setValue(45)
    assert window.state.values[("emotion", "fear")] == pytest.approx(0.45)
    assert row.slider.value() == 45
    window.state.set_control("emotion", "fear", 0.8)
    assert row.slider.value() == 80 and row.spin.value() == 80


def test_slider_double_click_resets_to_zero(window, qtbot):
    row = window.controls.rows[("style", "older")]
    row.slider.setValue(70)
    assert window.state.values[("style", "older")] == pytest.approx(0.7)
    qtbot.mouseDClick(row.slider, Qt.MouseButton.LeftButton, pos=QPoint(10, row.slider.height() // 2))
    assert row.slider.value() == 0
    assert window.state.values[("style", "older")] == 0.0


def test_no_audio_device_shows_status_and_rest_works(make_window, qtbot, female_clip_path):
    from stepedit_app.audio.playback import Player
    from stepedit_app.errors import StepEditError

    class DeadPlayer(Player):
        def play(self, *a, **kw):
            raise StepEditError("no audio output device (PortAudio found none)")

    w = make_window(player=DeadPlayer())
    open_and_wait(w, qtbot, female_clip_path)
    with qtbot.waitSignal(w.status_changed, timeout=2000) as sig:
        assert not w.playback.play()
    assert "no audio output device" in sig.args[0]
    assert not w.playback.playing
    w.state.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "happy", 30)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1


def test_takes_rename_star_delete_undo_redo(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    # two takes from two renders (a second iteration may converge and add no take)
    w.controls.iterations.setValue(1)
    set_slider(w, "emotion", "excited", 40)
    assert render_and_wait(w, qtbot) == 1
    set_slider(w, "emotion", "excited", 60)
    assert render_and_wait(w, qtbot) == 1
    assert len(st.takes) == 2
    t = st.selected_take
    st.session.takes.rename(t, "hero line")
    assert "hero line" in w.takes_panel.list.currentItem().text()
    w.takes_panel.toggle_star()
    assert t.starred
    w.takes_panel.delete_selected()
    assert len(st.takes) == 1 and w.takes_panel.list.count() == 1
    w.actions["undo"].trigger()
    assert len(st.takes) == 2 and w.takes_panel.list.count() == 2
    w.actions["undo"].trigger()
    assert not t.starred
    w.actions["redo"].trigger()
    assert t.starred
    assert w.actions["undo"].text() == "&Undo star take"


def test_loop_audition_swaps_a_finished_render_in_at_the_next_pass(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 3.0)
    st.set_loop(True)
    assert w.playback.play()
    assert w.playback.playing
    set_slider(w, "emotion", "sad", 50)
    w.controls.iterations.setValue(1)
    queued = []
    player = w.playback.player
    orig_queue = player.queue_take
    player.queue_take = lambda take, region, **kw: (queued.append(region), orig_queue(take, region, **kw))
    assert render_and_wait(w, qtbot) == 1
    assert queued == [(st.region.start, st.region.end)]
    # The real player (paced null device) swaps it in when the 2 s loop wraps, still playing;
    # then what is heard is the new take.
    with qtbot.waitSignal(w.playback.heard_take_changed, timeout=10000) as heard:
        pass
    assert heard.args[0] is st.selected_take and player.swaps == 1
    assert w.playback.playing
    w.playback.stop()


def test_auto_render_on_slider_release_is_debounced(opened, qtbot):
    w, st = opened, opened.state
    st.set_region_seconds(1.0, 2.0)
    w.controls.auto_render.setChecked(True)
    assert st.auto_render and w.actions["auto_render"].isChecked()
    w.controls.iterations.setValue(1)
    row = w.controls.rows[("emotion", "happy")]
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        for v in (10, 20, 30, 40):  # keyboard steps: several commits, one render
            row.slider.setValue(v)
    assert len(st.takes) == 1
    assert st.takes[0].request.emotions["happy"] == pytest.approx(0.4)


def test_shortcuts_are_listed_in_help(window):
    keys = {a: k for _, a, k in window.shortcut_table()}
    for action in ("Play / Stop", "Loop Region", "Render", "Cancel Render", "Rename Take", "Star Take", "Open…",
                   "Export Take…", "Save Project", "Open Project…"):
        assert action in keys, action
    assert "Return" not in keys["Render"] or "Ctrl" in keys["Render"]
    dlg = window.show_shortcuts()
    assert dlg.isVisible()
    dlg.close()


def test_spectrogram_is_filled_from_a_worker(opened):
    spec = opened.timeline.spectrogram
    assert spec.columns_filled >= spec.data.shape[1] - 1
    assert np.isfinite(spec.data).all()
    assert spec.data.max() > spec.levels[0]


def test_engine_specific_panel_slot(window, qtbot):
    """An engine's own widgets appear under the engine selector (the GPU engine's setup)."""
    from PySide6.QtWidgets import QLabel

    from stepedit_app.gui import engine_panels

    engine_panels.register("prosody", lambda state, parent: QLabel("prosody extras", parent))
    try:
        window.renderer._apply_capabilities()
        assert isinstance(window.controls.engine_panel, QLabel)
        assert window.controls.engine_panel.text() == "prosody extras"
        assert not window.controls.transcript.isVisible()  # prosody needs no transcript
    finally:
        engine_panels.unregister("prosody")
        window.renderer._apply_capabilities()
    assert window.controls.engine_panel is None
