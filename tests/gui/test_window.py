"""The editor window driven end to end on real speech (LJ001-0004, 22.05 kHz, 5.1 s)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt

from stepedit_app.gui.dialogs import ExportSettings


def select(window, a: float, b: float) -> None:
    """Select as a drag in the waveform does (the view box's end-of-drag signal)."""
    window.timeline.wave_vb.selected.emit(a, b)


def set_slider(window, group: str, name: str, pct: int) -> None:
    window.controls.rows[(group, name)].slider.setValue(pct)


def render_and_wait(window, qtbot, timeout=120000) -> int:
    with qtbot.waitSignal(window.render_finished, timeout=timeout) as blocker:
        window.render()
    return blocker.args[0]


def test_open_select_render_ab_export_roundtrip(opened, qtbot, tmp_path, female_clip_path):
    w = opened
    assert w.clip.duration == pytest.approx(5.1, abs=0.2)
    select(w, 1.0, 3.0)
    assert w.region is not None
    assert w.region.seconds(w.clip.rate) == pytest.approx((1.0, 3.0), abs=1e-3)
    set_slider(w, "emotion", "happy", 60)
    assert w.controls_model.values[("emotion", "happy")] == pytest.approx(0.6)
    w.controls.iterations.setValue(2)

    # The engine must run on a worker thread: record where edit() executes.
    ran_on: list[int] = []
    engine = w.session.engine
    original_edit = engine.edit

    def spying_edit(*a, **kw):
        ran_on.append(threading.get_ident())
        return (yield from original_edit(*a, **kw))

    engine.edit = spying_edit
    with qtbot.waitSignal(w.render_thread, timeout=10000) as th:
        with qtbot.waitSignal(w.render_finished, timeout=120000) as done:
            w.render()
    assert done.args == [2]
    gui = threading.get_ident()
    assert ran_on and all(t != gui for t in ran_on)
    assert th.args[0] != gui
    assert len(w.session.takes) == 2
    assert w.takes_panel.list.count() == 2

    # The newest take is selected; its diff arrives from a worker.
    take = w.selected_take
    assert take is not None and take.iteration == 2
    with qtbot.waitSignal(w.diff_ready, timeout=60000, check_params_cb=lambda d: True):
        w.takes_panel.select(take.id)
    assert w.diff_view.table.rowCount() > 0

    # A/B on the (null) audio device: switch while playing, no restart.
    assert w.play()
    assert w.playing
    w.toggle_ab()
    assert w.player.source == "B"
    assert w.playing
    w.toggle_ab()
    assert w.player.source == "A"
    w.stop()
    assert not w.playing

    # Export 16-bit WAV of the whole file and check it bit for bit outside the region.
    out = w.export_take(ExportSettings(tmp_path, "{name}_{emotion}_{take}", ".wav", "PCM_16", "full", None, -1.0))
    assert out is not None and out.exists()
    assert take.exported
    src, sr = sf.read(female_clip_path, dtype="int16", always_2d=True)
    got, sr2 = sf.read(out, dtype="int16", always_2d=True)
    assert sr2 == sr
    s, e = take.region.start, take.region.end
    n = take.segment.frames
    assert got.shape[0] == src.shape[0] + (n - (e - s))
    assert np.array_equal(got[:s], src[:s])
    assert np.array_equal(got[s + n :], src[e:])
    assert not np.array_equal(got[s : s + n][: e - s], src[s:e][: n])
    # The source file was never written.
    assert sf.info(female_clip_path).frames == src.shape[0]


def test_cancel_keeps_finished_iterations_and_drops_the_partial_one(opened, qtbot):
    w = opened
    select(w, 0.5, 4.5)
    set_slider(w, "style", "whisper", 50)
    w.controls.iterations.setValue(5)
    got = []
    engine = w.session.engine
    original_edit = engine.edit

    def slow_from_iteration_2(prepared, request, ctx):
        # Iteration 2 is "long": it keeps yielding progress until the user cancels.
        if ctx.iteration >= 2:
            for _ in range(2000):
                if ctx.cancel.cancelled:
                    break
                yield 0.5
                threading.Event().wait(0.005)
        return (yield from original_edit(prepared, request, ctx))

    engine.edit = slow_from_iteration_2

    def on_take(take):
        got.append(take)
        if len(got) == 1:
            w.cancel_render()

    w.take_ready.connect(on_take)
    with qtbot.waitSignal(w.render_finished, timeout=120000) as done:
        w.render()
    kept = done.args[0]
    assert kept == 1
    assert len(w.session.takes) == kept
    assert "cancelled" in w.statusBar().currentMessage()


def test_corrupt_file_shows_one_line_dialog_and_window_stays_usable(opened, qtbot, tmp_path, female_clip_path):
    w = opened
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    with qtbot.waitSignal(w.error_shown, timeout=5000) as sig:
        assert not w.open_file(bad)
    line = sig.args[0]
    assert "broken.wav" in line and "\n" not in line
    assert w.last_error is not None and w.last_error.isVisible()
    w.last_error.close()
    # Still usable: the previous clip is open and a render works.
    assert w.clip is not None and w.clip.path == female_clip_path.resolve()
    select(w, 1.0, 2.0)
    set_slider(w, "emotion", "sad", 40)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1


def test_engine_failure_shows_dialog_and_keeps_takes(opened, qtbot):
    w = opened
    select(w, 1.0, 2.5)
    set_slider(w, "emotion", "angry", 50)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1

    def broken_edit(*a, **kw):
        raise RuntimeError("synthetic engine crash")
        yield  # pragma: no cover

    w.session.engine.edit = broken_edit
    with qtbot.waitSignal(w.error_shown, timeout=60000) as sig:
        with qtbot.waitSignal(w.render_finished, timeout=60000):
            w.render()
    assert "synthetic engine crash" in sig.args[0]
    assert "Traceback" in w.last_error.detailedText()
    w.last_error.close()
    assert len(w.session.takes) == 1
    assert w.takes_panel.list.count() == 1


def test_preset_round_trip(window, qtbot):
    c = window.controls
    assert len(c.presets) >= 6
    c.load_preset("Tense guard")
    assert window.controls_model.values[("emotion", "angry")] == pytest.approx(0.7)
    assert c.rows[("emotion", "angry")].percent == 70
    assert c.rows[("style", "serious")].percent == 30
    set_slider(window, "emotion", "happy", 25)
    c.save_preset("My test preset")
    assert "My test preset" in c.presets
    window.controls_model.reset()
    assert c.rows[("emotion", "happy")].percent == 0
    c.load_preset("My test preset")
    assert c.rows[("emotion", "happy")].percent == 25
    assert c.rows[("emotion", "angry")].percent == 70
    req = window.controls_model.request()
    assert dict(req.emotions) == {"angry": 0.7, "happy": 0.25}


def test_widget_writes_model_and_model_updates_widget(window):
    row = window.controls.rows[("emotion", "fear")]
    row.spin.setValue(45)
    assert window.controls_model.values[("emotion", "fear")] == pytest.approx(0.45)
    assert row.slider.value() == 45
    window.controls_model.set_value("emotion", "fear", 0.8)
    assert row.slider.value() == 80 and row.spin.value() == 80


def test_slider_double_click_resets_to_zero(window, qtbot):
    row = window.controls.rows[("style", "older")]
    row.slider.setValue(70)
    assert window.controls_model.values[("style", "older")] == pytest.approx(0.7)
    qtbot.mouseDClick(row.slider, Qt.MouseButton.LeftButton, pos=QPoint(10, row.slider.height() // 2))
    assert row.slider.value() == 0
    assert window.controls_model.values[("style", "older")] == 0.0


def test_filter_box_narrows_the_controls(window, qtbot):
    c = window.controls
    everything = c.visible_controls()
    assert len(everything) == 22
    qtbot.keyClicks(c.filter, "whis")
    assert c.visible_controls() == ["whisper"]
    assert not c.group_labels["emotion"].isVisible()
    c.filter.clear()
    assert c.visible_controls() == everything


def test_no_audio_device_shows_status_and_rest_works(make_window, qtbot, female_clip_path):
    from stepedit_app.errors import StepEditError

    class DeadPlayer(__import__("stepedit_app.audio.playback", fromlist=["Player"]).Player):
        def play(self, *a, **kw):
            raise StepEditError("no audio output device (PortAudio found none)")

    w = make_window(player=DeadPlayer())
    with qtbot.waitSignal(w.spectrogram_done, timeout=30000):
        w.open_file(female_clip_path)
    with qtbot.waitSignal(w.status_changed, timeout=2000) as sig:
        assert not w.play()
    assert "no audio output device" in sig.args[0]
    assert not w.playing
    select(w, 1.0, 2.0)
    set_slider(w, "emotion", "happy", 30)
    w.controls.iterations.setValue(1)
    assert render_and_wait(w, qtbot) == 1


def test_takes_rename_star_delete_undo_redo(opened, qtbot):
    w = opened
    select(w, 1.0, 2.0)
    # two takes from two renders (a second iteration may converge and add no take)
    w.controls.iterations.setValue(1)
    set_slider(w, "emotion", "excited", 40)
    assert render_and_wait(w, qtbot) == 1
    set_slider(w, "emotion", "excited", 60)
    assert render_and_wait(w, qtbot) == 1
    takes = w.session.takes
    assert len(takes) == 2
    t = w.selected_take
    w.takes_panel.rename(t, "hero line")
    assert t.name == "hero line"
    assert "hero line" in w.takes_panel.list.currentItem().text()
    w.takes_panel.toggle_star()
    assert t.starred
    w.takes_panel.delete_selected()
    assert len(takes) == 1 and w.takes_panel.list.count() == 1
    w.undo()
    assert len(takes) == 2 and w.takes_panel.list.count() == 2
    w.undo()
    assert not t.starred
    w.redo()
    assert t.starred
    # Arrow keys move through takes (and audition them).
    w.takes_panel.select(takes[0].id)
    w.takes_panel.step(-1)
    assert w.selected_take is takes[1]


def test_loop_audition_swaps_a_finished_render_in_at_the_next_pass(opened, qtbot):
    w = opened
    select(w, 1.0, 3.0)
    w.set_loop(True)
    assert w.play()
    assert w.playing
    set_slider(w, "emotion", "sad", 50)
    w.controls.iterations.setValue(1)
    queued = []
    orig_queue = w.player.queue_take
    w.player.queue_take = lambda take, region, **kw: (queued.append(region), orig_queue(take, region, **kw))
    assert render_and_wait(w, qtbot) == 1
    assert queued == [(w.region.start, w.region.end)]
    # the real player (paced null device) swaps it in when the 2 s loop wraps, still playing
    qtbot.waitUntil(lambda: w.player.swaps == 1, timeout=10000)
    assert w.playing
    w.stop()


def test_auto_render_on_slider_release_is_debounced(opened, qtbot):
    w = opened
    select(w, 1.0, 2.0)
    w.controls.auto_render.setChecked(True)
    w.controls.iterations.setValue(1)
    row = w.controls.rows[("emotion", "happy")]
    with qtbot.waitSignal(w.render_finished, timeout=120000):
        for v in (10, 20, 30, 40):  # keyboard steps: several commits, one render
            row.slider.setValue(v)
    assert len(w.session.takes) == 1
    assert w.session.takes[0].request.emotions["happy"] == pytest.approx(0.4)


def test_select_all_and_shortcuts_are_listed_in_help(window):
    table = window.shortcut_table()
    keys = {a: k for _, a, k in table}
    for action in ("Play / Stop", "Loop Region", "Render", "Cancel Render", "Rename Take", "Star Take", "Open…",
                   "Export Take…"):
        assert action in keys, action
    dlg = window.show_shortcuts()
    assert dlg.isVisible()
    dlg.close()


def test_spectrogram_is_filled_from_a_worker(opened):
    spec = opened.timeline.spectrogram
    assert spec.columns_filled >= spec.data.shape[1] - 1
    assert np.isfinite(spec.data).all()
    assert spec.data.max() > spec.levels[0]
