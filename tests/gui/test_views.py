"""What the views show (issue 8, problems 6-9): the take as heard, zoomed detail, honest
diffs, and the small things."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from stepedit_app.audio.spectrogram import spectrogram_db
from stepedit_app.audio.timeline import TakeAudio
from stepedit_app.gui.controllers.analysis import N_BINS, N_FFT

from .conftest import render_and_wait, set_slider


def _render(w, qtbot, group, name, pct, iterations=1, span=(1.0, 3.0)):
    w.state.set_region_seconds(*span)
    w.state.reset_controls()
    set_slider(w, group, name, pct)
    w.controls.iterations.setValue(iterations)
    assert render_and_wait(w, qtbot) == iterations
    return w.state.selected_take


# --- 7: show what you hear ----------------------------------------------------------------------
def test_while_b_plays_the_views_show_the_take_with_the_shift_after_it(opened, qtbot):
    w, st = opened, opened.state
    take = _render(w, qtbot, "emotion", "sad", 100)  # slower: the take is longer than its region
    shift = take.segment.frames - take.region.length
    assert shift > 0.1 * st.clip.rate
    spec = w.timeline.spectrogram
    a_image = spec.shown.copy()
    assert w.playback.play()
    with qtbot.waitSignal(w.analysis.b_ready, timeout=30000):
        w.playback.toggle_ab()
    assert st.source == "B" and w.playback.playing
    tl = w.timeline
    # Waveform: the take in its region (accent), what follows moved by the shift.
    assert tl.heard and tl.duration == pytest.approx((st.clip.frames + shift) / st.clip.rate)
    lane = tl.waveform.lane
    assert lane.take.offset_s == pytest.approx(take.region.start / st.clip.rate)
    assert lane.original.hi == take.region.start
    assert lane.after.lo == take.region.end and lane.after.offset_s == pytest.approx(shift / st.clip.rate)
    # Spectrogram: B's columns; inside the region they are the take's spectrogram.
    img = spec.shown
    hop = w.analysis.hop
    assert img.shape[1] == pytest.approx((st.clip.frames + shift) // hop + 1, abs=2)
    b = TakeAudio(st.clip.samples, take.segment.samples, (take.region.start, take.region.end))
    truth = spectrogram_db(b.slice(0, len(b))[:, 0], st.clip.rate, N_FFT, hop, "log", N_BINS).db
    c0, c1 = take.region.start // hop + 4, (take.region.start + take.segment.frames) // hop - 4
    assert np.allclose(img[:, c0:c1], truth[:, c0:c1], atol=1e-3)
    assert not np.allclose(img[:, c0:c1], a_image[:, c0:c1], atol=1.0)
    # After the region the original follows, shifted (to the nearest column).
    k = int(round(shift / hop))
    tail = slice(c1 + 12 + k, min(img.shape[1], a_image.shape[1] + k) - 2)
    assert np.array_equal(img[:, tail], a_image[:, tail.start - k : tail.stop - k])
    # The region is drawn where the take is, and the playhead runs in B's time.
    span = tl.region_span()
    assert span == pytest.approx((take.region.start / st.clip.rate, (take.region.start + take.segment.frames) / st.clip.rate), abs=1e-3)
    # Back to A: the original again.
    w.playback.toggle_ab()
    assert not tl.heard and np.array_equal(spec.shown, a_image)
    w.playback.stop()


def test_a_whisper_take_heard_shows_no_harmonics(opened, qtbot):
    w = opened
    take = _render(w, qtbot, "style", "whisper", 100)
    spec = w.timeline.spectrogram
    hop = w.analysis.hop
    c0, c1 = take.region.start // hop + 4, take.region.end // hop - 4
    freqs = spec.freqs
    band = (freqs > 150) & (freqs < 1000)
    a_peaks = np.mean(np.max(spec.shown[band, c0:c1], axis=0) - np.median(spec.shown[band, c0:c1], axis=0))
    with qtbot.waitSignal(w.analysis.b_ready, timeout=30000):
        w.playback.toggle_ab()
    b_peaks = np.mean(np.max(spec.shown[band, c0:c1], axis=0) - np.median(spec.shown[band, c0:c1], axis=0))
    # Harmonics are narrow peaks above the band's median; a whisper has far less of them.
    assert b_peaks < a_peaks - 6.0, (a_peaks, b_peaks)


# --- 9: the spectrogram recomputes detail when zoomed --------------------------------------------
def test_zooming_in_recomputes_the_spectrogram_at_a_finer_hop(opened, qtbot):
    w = opened
    spec = w.timeline.spectrogram
    assert not spec.detail.isVisible()
    with qtbot.waitSignal(w.analysis.detail_ready, timeout=30000) as got:
        w.timeline.zoom_to(2.0, 2.3)
    key, detail = got.args
    assert spec.detail.isVisible()
    assert detail.hop_s < spec.hop_s / 2  # finer than the whole-file image
    t0, t1 = w.timeline.visible_span()
    assert detail.times[0] <= t0 and detail.times[-1] >= t1
    columns_in_view = np.count_nonzero((detail.times >= t0) & (detail.times <= t1))
    assert columns_in_view > 1.5 * (t1 - t0) / spec.hop_s
    # Zoomed out again: the detail follows the view (for a short clip the whole view still
    # gets a finer image than the whole-file one), never a stale zoomed patch.
    with qtbot.waitSignal(w.analysis.detail_ready, timeout=30000) as got:
        w.zoom_all()
    detail = got.args[1]
    assert detail.times[0] <= 0.01 and detail.times[-1] >= w.state.clip.duration - 0.02
    # Where the whole-file image has enough columns for the view's width, no detail is made.
    assert not w.analysis.request_detail("k", None, 0.0, 5.0, 80)


# --- 6: moving quickly between takes never flashes an error -------------------------------------
def test_moving_quickly_between_takes_shows_no_cancelled_error(opened, qtbot):
    w, st = opened, opened.state
    for pct in (40, 60, 80):  # three takes (iterations of one render may converge early)
        _render(w, qtbot, "emotion", "happy", pct)
    titles, errors = [], []
    w.error_shown.connect(errors.append)
    w.analysis.diff_failed.connect(lambda t, e: errors.append(str(e)))
    ids = [t.id for t in st.takes]
    for k in range(12):
        st.select_take(ids[k % 3])
        titles.append(w.diff_view.title.text() + w.diff_view.placeholder.text())
        qtbot.wait(15 if k % 2 else 90)  # some selections outlive the debounce: a diff starts, then is superseded
    last = st.takes[ids.index(ids[11 % 3])]
    qtbot.waitUntil(lambda: w.diff_view.diff is not None and last.name in w.diff_view.title.text(), timeout=60000)
    titles.append(w.diff_view.title.text() + w.diff_view.placeholder.text())
    assert errors == []
    assert not any("could not measure" in t or "Cancelled" in t for t in titles)


# --- 8: diff rows on too few voiced frames read n/a with the reason -----------------------------
def test_diff_rows_on_too_little_voicing_read_na_with_the_reason(opened, qtbot):
    w = opened
    with qtbot.waitSignal(w.analysis.diff_ready, timeout=120000):
        _render(w, qtbot, "emotion", "fear", 100)
        w.state.set_control("style", "whisper", 1.0)
        w.state.commit_controls()
        assert render_and_wait(w, qtbot) == 1
    qtbot.waitUntil(lambda: "fear 100% + whisper 100%" in w.diff_view.title.text() and w.diff_view.diff is not None,
                    timeout=60000)
    values, reasons = w.diff_view.row_values(), w.diff_view.row_reasons()
    assert values["median F0"].startswith("n/a (take ") and "% voiced" in values["median F0"]
    assert "pitch and formant measures need" in reasons["median F0"]
    for label in ("F0 range", "F1", "F2", "irregularity"):
        assert values[label].startswith("n/a"), label
    assert not values["loudness"].startswith("n/a")


# --- 9: the smaller problems --------------------------------------------------------------------
def test_empty_diff_panel_shows_one_line_instead_of_crowded_axes(window):
    d = window.diff_view
    assert d.stack.currentWidget() is d.placeholder
    assert d.placeholder.text() == "Select a take to see what it changed."
    assert not d.plots.isVisible()


def test_time_axis_does_not_go_negative_without_a_file(window, qtbot):
    tl = window.timeline
    (t0, _t1), _ = tl.wave_vb.viewRange()
    assert t0 >= 0.0
    tl.wave_vb.translateBy(x=-5.0)  # try to pan left of zero
    (t0, _t1), _ = tl.wave_vb.viewRange()
    assert t0 >= 0.0
    assert tl.time_axis.tickStrings([-1.0, 0.0, 0.5], 1.0, 0.5) == ["", "0:00.0", "0:00.5"]


def test_filter_never_hides_a_slider_in_use(window, qtbot):
    c = window.controls
    assert len(c.visible_controls()) == 22
    set_slider(window, "style", "whisper", 30)
    qtbot.keyClicks(c.filter, "ang")
    assert c.visible_controls() == ["angry", "whisper"]
    assert c.group_labels["style"].isVisible()
    window.state.set_control("emotion", "sad", 0.2)  # set while filtered (a preset, an undo)
    assert "sad" in c.visible_controls()
    c.filter.clear()
    assert len(c.visible_controls()) == 22


def test_render_button_is_disabled_while_rendering(opened, qtbot):
    w = opened
    w.state.set_region_seconds(1.0, 2.0)
    set_slider(w, "emotion", "happy", 30)
    w.controls.iterations.setValue(1)
    assert w.controls.render_btn.isEnabled()
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        with qtbot.waitSignal(w.renderer.started, timeout=5000):
            w.renderer.render()
        assert not w.controls.render_btn.isEnabled() and w.controls.cancel_btn.isEnabled()
    assert w.controls.render_btn.isEnabled() and not w.controls.cancel_btn.isEnabled()


def test_take_tooltips_give_times_and_wording_counts_properly(opened, qtbot):
    w = opened
    statuses = []
    w.status_changed.connect(statuses.append)
    take = _render(w, qtbot, "emotion", "happy", 30)
    tip = w.takes_panel.list.currentItem().toolTip()
    assert "region 0:01.000–0:03.000 (2.000 s" in tip and "frames" not in tip
    assert "rendering happy 30% (1 iteration)…" in statuses
    assert any(s.startswith("1 take ready") for s in statuses)
    assert "iteration(s)" not in " ".join(statuses) and "take(s)" not in " ".join(statuses)
    assert take is w.state.selected_take


def test_star_and_export_follow_the_selected_take(opened, qtbot):
    w, st = opened, opened.state
    assert not w.actions["export"].isEnabled() and not w.takes_panel.star_btn.isEnabled()
    _render(w, qtbot, "emotion", "happy", 30)
    assert w.actions["export"].isEnabled() and w.takes_panel.star_btn.isEnabled()
    qtbot.mouseClick(w.takes_panel.star_btn, Qt.MouseButton.LeftButton)
    assert st.selected_take.starred


def test_changing_the_spectrogram_scale_recomputes_it(opened, qtbot):
    w = opened
    spec = w.timeline.spectrogram
    log_rows = spec.freqs.copy()
    with qtbot.waitSignal(w.analysis.spectrogram_done, timeout=30000):
        w.actions["scale_mel"].trigger()
    assert not np.allclose(spec.freqs, log_rows)
    with qtbot.waitSignal(w.analysis.spectrogram_done, timeout=30000):
        w.actions["scale_linear"].trigger()
    assert spec.freqs[0] == 0.0 and spec.columns_filled >= spec.data.shape[1] - 1
