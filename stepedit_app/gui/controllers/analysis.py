"""Analysis for display, on workers: spectrograms and diffs.

- The whole-file spectrogram (timeline A) is computed chunk by chunk and fills the view
  progressively.
- While a take is heard (B), the columns of its region are computed from timeline B at the
  same hop; the view splices them in and shifts what follows by the take's change in length.
- When the view is zoomed in past the whole-file image's resolution, the visible span is
  recomputed at a finer hop (in the timeline shown) and drawn over it.
- The diff of the selected take uses the session's one analysis of the region and the take's
  own cues; results are cached per take, and selecting takes quickly cancels superseded
  diffs silently (a cancelled diff is not an error).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import Signal

from stepedit_app.audio.spectrogram import iter_spectrogram, spectrogram_span
from stepedit_app.audio.timeline import TakeAudio
from stepedit_app.engines.base import CancelToken
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.workers import Job, make_timer
from stepedit_app.session.editor import EditorState
from stepedit_app.session.takes import Take

N_FFT = 1024
N_BINS = 256
#: Columns of the whole-file image; long files use a larger hop to stay near this.
MAX_COLUMNS = 16000
#: Finest hop of a zoomed-in detail image (samples).
MIN_DETAIL_HOP = 64
DIFF_DEBOUNCE_MS = 60
DIFF_CACHE = 32


def choose_hop(frames: int, n_fft: int = N_FFT) -> int:
    """A hop that keeps the whole-file image under :data:`MAX_COLUMNS` columns."""
    return int(max(n_fft // 4, int(np.ceil(frames / MAX_COLUMNS))))


def _mono(x: np.ndarray) -> np.ndarray:
    return x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)


class AnalysisController(Controller):
    """Spectrograms and diffs for the views.

    Signals
    -------
    spectrogram_reset(float, int, int, int)
        Duration (s), columns, rows and hop (samples) of the whole-file image to come.
    spectrogram_chunk(object)
        ``(first_column, Spectrogram)``.
    spectrogram_done()
    b_ready(object, int, object)
        ``(take, first_column, Spectrogram)``: timeline B's columns over the take's region.
    detail_ready(object, object)
        ``(key, Spectrogram)``: a finer image of the span the view asked for (``key`` names
        the timeline it belongs to).
    diff_pending(object), diff_ready(object, object), diff_failed(object, object), diff_cleared()
        The selected take's diff: being measured, measured (take, Diff), failed (take,
        exception; shown in the diff panel, not as a dialog), no take.
    """

    spectrogram_reset = Signal(float, int, int, int)
    spectrogram_chunk = Signal(object)
    spectrogram_done = Signal()
    b_ready = Signal(object, int, object)
    detail_ready = Signal(object, object)
    diff_pending = Signal(object)
    diff_ready = Signal(object, object)
    diff_failed = Signal(object, object)
    diff_cleared = Signal()

    def __init__(self, state: EditorState, parent=None) -> None:
        super().__init__(state, parent)
        self.scale = "log"
        self.compute_identity = True
        self.hop = N_FFT // 4
        self._spec: Job | None = None
        self._b: Job | None = None
        self._detail: Job | None = None
        self._diff: Job | None = None
        self._diff_take: Take | None = None
        self._diffs: OrderedDict[int, object] = OrderedDict()
        self._b_cache: OrderedDict[tuple, tuple[int, object]] = OrderedDict()
        self.diff_timer = make_timer(self, DIFF_DEBOUNCE_MS, self._start_diff, single_shot=True, name="diff-debounce")
        state.events.connect("document", self._on_document)
        state.events.connect("take", self._on_take)
        state.events.connect("takes", self._on_takes)

    # --- whole-file spectrogram --------------------------------------------------------------
    def _on_document(self) -> None:
        self._diffs.clear()
        self._b_cache.clear()
        for job in (self._diff, self._b, self._detail):
            if job is not None:
                job.cancel()
        self.diff_cleared.emit()
        if self.state.clip is not None:
            self.start_spectrogram()

    def set_scale(self, scale: str) -> None:
        if scale == self.scale:
            return
        self.scale = scale
        self._b_cache.clear()
        if self.state.clip is not None:
            self.start_spectrogram()

    def start_spectrogram(self) -> None:
        if self._spec is not None:
            self._spec.cancel()
            self._spec.wait()
        clip = self.state.clip
        self.hop = hop = choose_hop(clip.frames)
        total = clip.frames // hop + 1
        scale = self.scale
        chunk_s = max(5.0, clip.duration / 24.0)
        self.spectrogram_reset.emit(clip.duration, total, N_BINS, hop)

        def work():
            # On the worker: even the mono mix of a long file is made here.
            x = _mono(clip.samples)
            yield from iter_spectrogram(x, clip.rate, chunk_s=chunk_s, n_fft=N_FFT, hop=hop, scale=scale,
                                        n_bins=N_BINS)

        self._spec = self.pool.job(work, name="spectrogram", on_yield=self.spectrogram_chunk.emit,
                                   on_return=lambda _: self.spectrogram_done.emit(),
                                   on_error=lambda exc: self.failed.emit("Spectrogram", exc))

    # --- timeline B --------------------------------------------------------------------------
    def request_b(self, take: Take | None) -> None:
        """Compute (or reuse) timeline B's columns over ``take``'s region for the view."""
        if take is None or self.state.clip is None:
            return
        key = (take.id, self.scale, self.hop)
        if key in self._b_cache:
            first, spec = self._b_cache[key]
            self.b_ready.emit(take, first, spec)
            return
        if self._b is not None:
            self._b.cancel()
        clip, hop, scale = self.state.clip, self.hop, self.scale
        b = TakeAudio(clip.samples, take.segment.samples, (take.region.start, take.region.end))
        c0 = max(0, take.region.start // hop - 2)
        c1 = (take.region.start + take.segment.frames) // hop + 3 + -(-N_FFT // hop)

        def work():
            spec = spectrogram_span(lambda lo, hi: _mono(b.slice(lo, hi)), len(b), clip.rate, c0, c1,
                                    n_fft=N_FFT, hop=hop, scale=scale, n_bins=N_BINS)
            return c0, spec

        def done(result) -> None:
            self._b_cache[key] = result
            while len(self._b_cache) > 16:
                self._b_cache.popitem(last=False)
            self.b_ready.emit(take, *result)

        self._b = self.pool.call(work, name="spectrogram-b", on_return=done)

    # --- zoomed detail -----------------------------------------------------------------------
    def request_detail(self, key: object, take: Take | None, t0: float, t1: float, pixels: int) -> bool:
        """Recompute the span ``t0..t1`` (seconds in the timeline shown: B of ``take``, or A)
        at about two columns per pixel, when that is finer than the whole-file image.
        Returns False when the whole-file image is fine enough (nothing to do)."""
        clip = self.state.clip
        if clip is None or t1 <= t0 or pixels <= 0:
            return False
        want = (t1 - t0) * clip.rate / (2.0 * pixels)
        if want >= 0.75 * self.hop:
            return False
        if self._detail is not None:
            self._detail.cancel()
        hop = int(max(MIN_DETAIL_HOP, want))
        scale = self.scale
        if take is not None:
            b = TakeAudio(clip.samples, take.segment.samples, (take.region.start, take.region.end))
            read, total = (lambda lo, hi: _mono(b.slice(lo, hi))), len(b)
        else:
            samples = clip.samples
            read, total = (lambda lo, hi: _mono(samples[lo:hi])), clip.frames
        pad = 0.25 * (t1 - t0)
        c0 = int(max(0.0, (t0 - pad)) * clip.rate // hop)
        c1 = int(np.ceil((t1 + pad) * clip.rate / hop)) + 1

        def work():
            return spectrogram_span(read, total, clip.rate, c0, c1, n_fft=N_FFT, hop=hop, scale=scale, n_bins=N_BINS)

        self._detail = self.pool.call(work, name="spectrogram-detail",
                                     on_return=lambda spec: self.detail_ready.emit(key, spec))
        return True

    # --- diff --------------------------------------------------------------------------------
    def _on_take(self, take: Take | None) -> None:
        self._diff_take = take
        if self._diff is not None:
            self._diff.cancel()  # superseded: it ends quietly
        if take is None:
            self.diff_timer.stop()
            self.diff_cleared.emit()
            return
        if take.id in self._diffs:
            self.diff_timer.stop()
            self.diff_ready.emit(take, self._diffs[take.id])
            return
        self.diff_pending.emit(take)
        # Arrow keys held down: measure the take the user stops on, not every one passed.
        self.diff_timer.start()

    def _on_takes(self, event: str, take: Take) -> None:
        if event == "removed":
            self._diffs.pop(take.id, None)

    def _start_diff(self) -> None:
        from stepedit_app.session.diff import compute_diff

        take, session, clip = self._diff_take, self.state.session, self.state.clip
        if take is None or session is None or clip is None:
            return
        identity = self.compute_identity
        cancel = CancelToken()

        def work():
            ra = session.analysis(take.region)  # the region's one analysis, shared
            cancel.check()
            return compute_diff(clip.slice(take.region), take.segment, identity, cancel,
                                original_track=ra.track, original_cues=ra.cues, take_cues=take.cues)

        def done(diff) -> None:
            self._diffs[take.id] = diff
            while len(self._diffs) > DIFF_CACHE:
                self._diffs.popitem(last=False)
            if take is self._diff_take:
                self.diff_ready.emit(take, diff)

        def error(exc) -> None:
            if take is self._diff_take:
                self.diff_failed.emit(take, exc)

        self._diff = self.pool.call(work, name="diff", cancel=cancel, on_return=done, on_error=error)

    def shutdown(self) -> None:
        self.diff_timer.stop()
        super().shutdown()
