"""How the views follow the state and the controllers (and write back to the state).

The views are plain widgets; these functions connect them, so that neither the views nor the
window hold editor logic.  One rule drives the main views: they show the timeline being heard
— the original (A, with the selected take overlaid), or timeline B of the take the player has
loaded, whenever B is the source — so a whisper take shows no harmonics and a slower take
pushes what follows to the right, exactly as it sounds.
"""

from __future__ import annotations

import numpy as np

from stepedit_app.gui.controllers.analysis import AnalysisController
from stepedit_app.gui.controllers.playback import PlaybackController
from stepedit_app.gui.dialogs import error_parts
from stepedit_app.gui.panels.transport import TransportBar
from stepedit_app.gui.views.diff import DiffView
from stepedit_app.gui.views.timeline import TimelineView
from stepedit_app.session.editor import EditorState

NO_TAKE = "Select a take to see what it changed."


class TimelineBinding:
    """Connects the time-linked views, the state and the controllers, both ways."""

    def __init__(self, view: TimelineView, state: EditorState, playback: PlaybackController,
                 analysis: AnalysisController, transport: TransportBar) -> None:
        self.view, self.state, self.playback, self.analysis, self.transport = view, state, playback, analysis, transport
        self.spec = view.spectrogram
        self.last_diff: tuple = (None, None)  # (take, diff) of the pitch overlay
        ev = state.events
        ev.connect("document", self.on_document)
        ev.connect("region", view.set_region)
        ev.connect("take", lambda _t: self.refresh())
        ev.connect("source", lambda _s: self.refresh())
        playback.heard_take_changed.connect(lambda _t: self.refresh())
        playback.position_changed.connect(self.on_position)
        analysis.spectrogram_reset.connect(self.spec.reset)
        analysis.spectrogram_chunk.connect(self.spec.add_chunk)
        analysis.spectrogram_done.connect(self.spec.finish)
        analysis.b_ready.connect(self.on_b_ready)
        analysis.detail_ready.connect(self.on_detail)
        analysis.diff_ready.connect(self.on_diff)
        analysis.diff_cleared.connect(self.spec.clear_pitch)
        view.detail_wanted.connect(self.on_detail_wanted)
        view.selection_finished.connect(lambda a, b: state.set_region_seconds(a, b))
        view.select_all.connect(state.select_all)
        view.cursor_clicked.connect(state.set_cursor)

    def on_document(self) -> None:
        clip = self.state.clip
        self.view.set_clip(self.state.peaks, clip.rate if clip is not None else 1)
        self.last_diff = (None, None)
        self.spec.clear_pitch()

    def shown(self):
        """The take the views show, and whether it is heard (timeline B)."""
        heard = self.state.source == "B" and self.playback.heard is not None
        return (self.playback.heard if heard else self.state.selected_take), heard

    def refresh(self) -> None:
        take, heard = self.shown()
        if self.state.clip is None or self.view.pyramid is not self.state.peaks:
            return  # the new document is not drawn yet; set_clip comes next
        self.view.show_take(take, heard)
        if heard:
            self.analysis.request_b(take)
        else:
            self.spec.show_a()
        cursor = self.view.to_view(self.state.cursor) if self.view.heard else self.state.cursor
        self.transport.show_time(cursor, self.view.duration)
        self.draw_pitch()

    def on_position(self, t: float) -> None:
        self.view.set_playhead(t)
        self.transport.show_time(t, self.view.duration)

    def on_b_ready(self, take, first, columns) -> None:
        if self.view.heard and self.view.take is take:
            self.spec.show_b(first, columns, take.segment.frames - take.region.length)

    def detail_key(self):
        take, heard = self.shown()
        return (take.id if heard else None, self.analysis.scale)

    def on_detail_wanted(self, t0: float, t1: float, px: int) -> None:
        take, heard = self.shown()
        if not self.analysis.request_detail(self.detail_key(), take if heard else None, t0, t1, px):
            self.spec.clear_detail()

    def on_detail(self, key, columns) -> None:
        if key == self.detail_key():
            self.spec.set_detail(key, columns)

    def on_diff(self, take, diff) -> None:
        self.last_diff = (take, diff)
        self.draw_pitch()

    def draw_pitch(self) -> None:
        take, diff = self.last_diff
        st, spec = self.state, self.spec
        if take is None or diff is None or st.clip is None or take is not st.selected_take:
            spec.clear_pitch()
            return
        start_s = take.region.start / st.clip.rate
        t_o = np.asarray(diff.f0_times_original, dtype=np.float64)
        if self.view.heard and self.view.take is take:
            # Timeline B: the take's own contour in place; the original's carried over by DTW.
            t_t = np.asarray(diff.f0_times_take, dtype=np.float64)
            spec.set_pitch(_carry(t_o, np.asarray(diff.path)) + start_s, diff.f0_original, t_t + start_s,
                           diff.f0_take)
            return
        aligned = np.asarray(getattr(diff, "aligned_take_f0", np.zeros(0)))
        if len(aligned) == len(t_o):
            spec.set_pitch(t_o + start_s, diff.f0_original, t_o + start_s, aligned)
        else:
            spec.set_pitch(t_o + start_s, diff.f0_original, np.asarray(diff.f0_times_take) + start_s, diff.f0_take)


def _carry(t_o: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Original frame times mapped onto the take's time through a DTW path of frame pairs."""
    if path.ndim != 2 or len(path) < 2:
        return t_o
    hop = float(t_o[1] - t_o[0]) if len(t_o) > 1 else 0.005
    order = np.argsort(path[:, 0], kind="stable")
    po, pt = path[order, 0] * hop, path[order, 1] * hop
    po_u, idx = np.unique(po, return_index=True)
    return np.interp(t_o, po_u, pt[idx])


def bind_diff(view: DiffView, state: EditorState, analysis: AnalysisController) -> None:
    """The diff panel shows the selected take's diff (or why there is none)."""

    def on_ready(take, diff) -> None:
        clip = state.clip
        if clip is None:
            return
        view.show_diff(diff, clip.slice(take.region).samples, take.segment.samples, clip.rate, take.name,
                       take.flags)

    analysis.diff_pending.connect(lambda take: view.show_pending(take.name, take.flags))
    analysis.diff_ready.connect(on_ready)
    analysis.diff_failed.connect(lambda take, exc: view.show_failed(take.name, error_parts(exc)[0]))
    analysis.diff_cleared.connect(lambda: view.clear(NO_TAKE))
    view.clear(NO_TAKE)
