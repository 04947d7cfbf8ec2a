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


def bind_timeline(view: TimelineView, state: EditorState, playback: PlaybackController,
                  analysis: AnalysisController, transport: TransportBar) -> None:
    """Connect the time-linked views both ways."""
    spec = view.spectrogram
    last_diff: list = [None, None]  # (take, diff) of the pitch overlay

    def on_document() -> None:
        clip = state.clip
        view.set_clip(state.peaks, clip.rate if clip is not None else 1)
        last_diff[:] = [None, None]
        spec.clear_pitch()

    def shown():
        heard = state.source == "B" and playback.heard is not None
        return (playback.heard if heard else state.selected_take), heard

    def refresh() -> None:
        take, heard = shown()
        if state.clip is None or view.pyramid is not state.peaks:
            return  # the new document is not drawn yet; set_clip comes next
        view.show_take(take, heard)
        if heard:
            analysis.request_b(take)
        else:
            spec.show_a()
        transport.show_time(transport_time(), view.duration)
        draw_pitch()

    def transport_time() -> float:
        return state.cursor if not view.heard else view.to_view(state.cursor)

    def on_b_ready(take, first, columns) -> None:
        if view.heard and view.take is take:
            spec.show_b(first, columns, take.segment.frames - take.region.length)

    def detail_key():
        take, heard = shown()
        return (take.id if heard else None, analysis.scale)

    def on_detail_wanted(t0: float, t1: float, px: int) -> None:
        take, heard = shown()
        if not analysis.request_detail(detail_key(), take if heard else None, t0, t1, px):
            spec.clear_detail()

    def on_detail(key, columns) -> None:
        if key == detail_key():
            spec.set_detail(key, columns)

    def draw_pitch() -> None:
        take, diff = last_diff
        if take is None or diff is None or state.clip is None or take is not state.selected_take:
            spec.clear_pitch()
            return
        start_s = take.region.start / state.clip.rate
        t_o = np.asarray(diff.f0_times_original, dtype=np.float64)
        if view.heard and view.take is take:
            # Timeline B: the take's own contour in place; the original's carried over by DTW.
            t_t = np.asarray(diff.f0_times_take, dtype=np.float64)
            path = np.asarray(diff.path)
            if path.ndim == 2 and len(path) > 1:
                hop = float(t_o[1] - t_o[0]) if len(t_o) > 1 else 0.005
                order = np.argsort(path[:, 0], kind="stable")
                po, pt = path[order, 0] * hop, path[order, 1] * hop
                po_u, idx = np.unique(po, return_index=True)
                t_o_b = np.interp(t_o, po_u, pt[idx])
            else:
                t_o_b = t_o
            spec.set_pitch(t_o_b + start_s, diff.f0_original, t_t + start_s, diff.f0_take)
        else:
            aligned = np.asarray(getattr(diff, "aligned_take_f0", np.zeros(0)))
            if len(aligned) == len(t_o):
                spec.set_pitch(t_o + start_s, diff.f0_original, t_o + start_s, aligned)
            else:
                spec.set_pitch(t_o + start_s, diff.f0_original, np.asarray(diff.f0_times_take) + start_s,
                               diff.f0_take)

    def on_diff(take, diff) -> None:
        last_diff[:] = [take, diff]
        draw_pitch()

    def on_position(t: float) -> None:
        view.set_playhead(t)
        transport.show_time(t, view.duration)

    state.events.connect("document", on_document)
    state.events.connect("region", view.set_region)
    state.events.connect("take", lambda _t: refresh())
    state.events.connect("source", lambda _s: refresh())
    playback.heard_take_changed.connect(lambda _t: refresh())
    playback.position_changed.connect(on_position)
    analysis.spectrogram_reset.connect(spec.reset)
    analysis.spectrogram_chunk.connect(spec.add_chunk)
    analysis.spectrogram_done.connect(spec.finish)
    analysis.b_ready.connect(on_b_ready)
    analysis.detail_ready.connect(on_detail)
    analysis.diff_ready.connect(on_diff)
    analysis.diff_cleared.connect(spec.clear_pitch)
    view.detail_wanted.connect(on_detail_wanted)
    view.selection_finished.connect(lambda a, b: state.set_region_seconds(a, b))
    view.select_all.connect(state.select_all)
    view.cursor_clicked.connect(state.set_cursor)


def bind_diff(view: DiffView, state: EditorState, analysis: AnalysisController) -> None:
    """The diff panel shows the selected take's diff (or why there is none)."""

    def on_ready(take, diff) -> None:
        clip = state.clip
        if clip is None:
            return
        view.show_diff(diff, clip.slice(take.region).samples, take.segment.samples, clip.rate, take.name)

    analysis.diff_pending.connect(lambda take: view.show_pending(take.name))
    analysis.diff_ready.connect(on_ready)
    analysis.diff_failed.connect(lambda take, exc: view.show_failed(take.name, error_parts(exc)[0]))
    analysis.diff_cleared.connect(lambda: view.clear(NO_TAKE))
    view.clear(NO_TAKE)
