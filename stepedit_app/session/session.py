"""The edit session: one source clip, one engine, renders over iterations, the takes.

:meth:`EditSession.render` is a generator.  It yields :class:`Progress` events (once per
iteration and finer where the engine reports it) and a :class:`TakeReady` per finished
iteration, and checks the cancel token at each yield.  The GUI runs it on a worker thread; the
command line and batch jobs iterate it directly.  A cancelled render keeps the takes already
finished and drops the partial one; a failing engine raises :class:`EngineError` and leaves the
session (clip, takes, cache) exactly as it was.

The render generator *yields* takes and does not add them to :attr:`EditSession.takes`: the
caller publishes them on its own thread (the window's GUI thread; :meth:`EditSession.run`
adds them itself).  Each original region is measured once (:meth:`EditSession.analysis`: a
pitch track and the cue set), and that one analysis serves the engine, the takes' cue deltas
and the diff.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from stepedit_app.audio.analysis import Cues, PitchTrack, cue_deltas, measure_cues, track_pitch
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.engines.base import CancelToken, EditContext, Engine, Prepared
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.registry import create_engine
from stepedit_app.errors import Cancelled, EngineError, RegionError, StepEditError
from stepedit_app.session.takes import Take, TakeList, to_take_grid


@dataclass(frozen=True)
class Progress:
    """Render progress: ``iteration`` of ``total``, ``fraction`` (0..1) inside it."""

    iteration: int
    total: int
    fraction: float
    message: str = ""

    @property
    def overall(self) -> float:
        return min(1.0, ((self.iteration - 1) + self.fraction) / self.total)


@dataclass(frozen=True)
class TakeReady:
    take: Take


@dataclass(frozen=True)
class RenderCancelled:
    """The render stopped at the user's request after ``kept`` finished iterations."""

    kept: int


@dataclass(frozen=True)
class RenderConverged:
    """The render ended early: iteration ``iteration + 1`` could not improve on iteration
    ``iteration``, whose take is the final result (no duplicate take is added)."""

    iteration: int


RenderEvent = Progress | TakeReady | RenderCancelled | RenderConverged


@dataclass(frozen=True)
class RegionAnalysis:
    """The one measurement of an original region: its pitch track (the conservative,
    measuring one) and its cue set computed from that track."""

    region: Region
    track: PitchTrack
    cues: Cues


def analyse(clip: Clip, region: Region, cancel: CancelToken | None = None) -> RegionAnalysis:
    """Measure ``region`` of ``clip`` (pitch track, then the cue set on that track)."""
    seg = clip.slice(region)
    track = track_pitch(seg.mono(), seg.rate, cancel=cancel)
    return RegionAnalysis(region, track, measure_cues(seg, track=track, cancel=cancel))


class EngineFailure(EngineError):
    """An engine raised something unexpected or returned unusable audio; ``details`` holds the
    traceback or the figures behind the one-line message."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def _exc_text(exc: BaseException) -> str:
    """One line for an exception: its message, or its type when it has none."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _engine_crash(engine: str, where: str, exc: BaseException) -> EngineFailure:
    if isinstance(exc, MemoryError):
        return EngineFailure(f"engine {engine!r} ran out of memory {where}", traceback.format_exc())
    return EngineFailure(f"engine {engine!r} failed {where}: {_exc_text(exc)}", traceback.format_exc())


# --- what an engine may return ----------------------------------------------------------------

#: How far one control at full intensity may change a region's duration, as a factor either
#: way.  Speed controls are there to change it (the embedded engine's 'slower' asks x1.8 for
#: speech and x2 for pauses, and its closed loop may push a parameter to three times the nominal
#: change when the first render falls short); emotion and style controls change tempo as a side
#: effect (at most x1.35 for speech and x1.9 for pauses in the embedded profiles; a generative
#: engine re-speaks the words).  Controls multiply: the bound is
#: ``prod(FACTOR[group] ** intensity)``, at least ``MIN_LENGTH_FACTOR``.
LENGTH_FACTOR = {"speed": 5.0, "emotion": 3.0, "style": 3.0}
MIN_LENGTH_FACTOR = 1.25
#: Absolute slack on both bounds (engines pad or trim to their frame grid).
LENGTH_SLACK_S = 0.05
#: One-shot edit kinds, as (how much shorter, how much longer) the output may be: silence
#: removal may cut a mostly silent region to a twentieth; paralinguistic tags insert sounds
#: (a laugh, a sigh), up to three times the words plus a few seconds of them; denoise keeps
#: the timing.
EXTRA_LENGTH_FACTOR = {"vad": (20.0, 1.0), "paralinguistic": (1.25, 3.0), "denoise": (1.1, 1.1)}
EXTRA_LENGTH_SLACK_S = {"paralinguistic": 4.0}


def length_bounds(request: EditRequest, frames: int, rate: int, tolerance: float | None = None) -> tuple[int, int]:
    """The shortest and longest output (frames) an engine may return for ``request`` on a
    region of ``frames``; outside them the output is refused as an engine failure.

    The factor is generous on purpose (see :data:`LENGTH_FACTOR`): it exists to catch broken
    output (empty, one sample, ten times the length), not to judge an edit.
    """
    factor = 1.0
    for group, _name, v in request.active():
        factor *= LENGTH_FACTOR.get(group, 3.0) ** v
    factor = max(MIN_LENGTH_FACTOR, factor, tolerance or 0.0)
    shorter, longer = factor, factor
    for kind in request.extra_kinds():
        s_k, l_k = EXTRA_LENGTH_FACTOR.get(kind, (3.0, 3.0))
        shorter, longer = shorter * s_k, longer * l_k
    slack = LENGTH_SLACK_S * rate
    extra_s = EXTRA_LENGTH_SLACK_S.get("paralinguistic", 0.0) if request.paralinguistic is not None else 0.0
    lo = max(1, int(frames / shorter - slack))
    hi = int(math.ceil(frames * longer + slack + extra_s * rate))
    return lo, hi


def check_engine_output(
    engine: str, out: object, expected: Clip, request: EditRequest, iteration: int, tolerance: float | None = None
) -> Clip:
    """Refuse unusable engine output with one line (details attached): not audio, another rate
    or channel count, a length outside :func:`length_bounds`, or NaN / infinite samples."""
    where = f"engine {engine!r} returned unusable audio in iteration {iteration}"
    if not isinstance(out, Clip):
        raise EngineFailure(f"{where}: no audio (got {type(out).__name__})")
    rate = expected.rate
    details = (
        f"region: {expected.frames} frames ({expected.duration:.3f} s) at {rate} Hz, "
        f"{expected.channels} channel(s)\noutput: shape {tuple(out.samples.shape)} at {out.rate} Hz\n"
        f"request: {request.to_json()}\n"
    )
    if out.rate != rate:
        raise EngineFailure(f"{where}: {out.rate} Hz instead of {rate} Hz", details)
    if out.channels != expected.channels:
        raise EngineFailure(f"{where}: {out.channels} channel(s) instead of {expected.channels}", details)
    lo, hi = length_bounds(request, expected.frames, rate, tolerance)
    details += f"allowed length: {lo}..{hi} frames\n"
    if out.frames == 0:
        raise EngineFailure(f"{where}: no samples", details)
    if not (lo <= out.frames <= hi):
        raise EngineFailure(
            f"{where}: {out.duration:.3f} s for a {expected.duration:.3f} s region "
            f"(this request allows {lo / rate:.3f}–{hi / rate:.3f} s)",
            details,
        )
    finite = np.isfinite(out.samples)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        first = int(np.argmin(finite.all(axis=1)))
        raise EngineFailure(
            f"{where}: {bad} of {finite.size} samples are NaN or infinite (first at {first / rate:.3f} s)",
            details,
        )
    return out


def check_region_length(engine: Engine, start: int, end: int, rate: int) -> None:
    """Refuse, before any analysis, a region longer than the engine edits at once
    (:attr:`~stepedit_app.engines.base.Capabilities.max_region_s`)."""
    limit = engine.capabilities().max_region_s
    length = (end - start) / rate
    if limit is not None and length > limit:
        raise RegionError(
            f"region {start / rate:.3f}–{end / rate:.3f} s is too long for engine {engine.name!r} "
            f"({length:.1f} s; it edits at most {limit:g} s at once): select a shorter region"
        )


class EditSession:
    """Edits of one clip.

    Parameters
    ----------
    clip
        The source audio (never modified, never written).
    engine
        An engine instance or a registered engine name.
    """

    CACHE_SIZE = 4

    def __init__(self, clip: Clip, engine: Engine | str = "prosody", device: str = "cpu") -> None:
        self.clip = clip
        #: Where the engine runs ("cpu", "cuda"); one of its capabilities' devices.
        self.device = device
        self.engine = create_engine(engine) if isinstance(engine, str) else engine
        self.takes = TakeList()
        self._prepared: OrderedDict[tuple, Prepared] = OrderedDict()
        self._analyses: OrderedDict[tuple[int, int], RegionAnalysis] = OrderedDict()
        # Renders and diffs run on different worker threads and both ask for the analysis.
        self._analysis_lock = threading.Lock()
        self._render_id = 0

    # --- engine & caches ---------------------------------------------------------------------
    def set_engine(self, engine: Engine | str) -> None:
        """Switch engines; takes are kept, the analysis cache is dropped."""
        new = create_engine(engine) if isinstance(engine, str) else engine
        if new is not self.engine:
            self.engine.close()
        self.engine = new
        self._prepared.clear()

    def set_device(self, device: str) -> None:
        """Choose where the engine runs; refused if the engine cannot run there."""
        devices = self.engine.capabilities().devices
        if device not in devices:
            raise EngineError(f"engine {self.engine.name!r} cannot run on {device!r} (allowed: {', '.join(devices)})")
        self.device = device

    def region_or_whole(self, region: Region | None) -> Region:
        r = self.clip.whole() if region is None else region.resolve(self.clip)
        r.check_editable(self.clip)
        check_region_length(self.engine, r.start, r.end, self.clip.rate)
        return r

    def prepare(self, region: Region | None = None, cancel: CancelToken | None = None) -> Prepared:
        """The engine's analysis of ``region`` (cached: slider moves do not redo it)."""
        r = self.region_or_whole(region)
        key = (self.engine.name, r.start, r.end)
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        analysis = self.analysis(r, cancel)  # the one analysis of the region, shared with the engine
        try:
            prepared = self.engine.prepare(self.clip.slice(r), cancel, cues=analysis.cues, track=analysis.track)
        except (StepEditError, Cancelled):
            raise
        except Exception as exc:  # noqa: BLE001 - any engine bug (MemoryError too): one line + details
            raise _engine_crash(self.engine.name, "while analysing", exc) from exc
        self._prepared[key] = prepared
        while len(self._prepared) > self.CACHE_SIZE:
            self._prepared.popitem(last=False)
        return prepared

    def analysis(self, region: Region | None = None, cancel: CancelToken | None = None) -> RegionAnalysis:
        """The original region's pitch track and cues, measured once per region (thread-safe;
        a second caller waits for the first measurement instead of repeating it).  ``cancel``
        is honoured inside the measurement (nothing is cached then)."""
        r = self.region_or_whole(region)
        key = (r.start, r.end)
        with self._analysis_lock:
            if key not in self._analyses:
                self._analyses[key] = analyse(self.clip, r, cancel)
                while len(self._analyses) > 16:
                    self._analyses.popitem(last=False)
            self._analyses.move_to_end(key)
            return self._analyses[key]

    def original_cues(self, region: Region | None = None, cancel: CancelToken | None = None) -> Cues:
        return self.analysis(region, cancel).cues

    # --- rendering ---------------------------------------------------------------------------
    def render(
        self,
        request: EditRequest,
        region: Region | None = None,
        cancel: CancelToken | None = None,
        measure: bool = True,
    ) -> Generator[RenderEvent, None, list[Take]]:
        """Run ``request.iterations`` iterations on ``region``; every one becomes a take.

        Yields progress and take events; returns the list of new takes, which the caller adds
        to :attr:`takes` (on its own thread) if it wants them kept.  Raises
        :class:`~stepedit_app.errors.StepEditError` for bad requests or engine failures (the
        session is left as it was apart from takes of iterations that finished).
        """
        cancel = cancel or CancelToken()
        r = self.region_or_whole(region)
        self.engine.capabilities().check_request(request)
        self._render_id += 1
        render_id = self._render_id
        new: list[Take] = []
        total = request.iterations
        state: dict = {}
        previous: Clip | None = None
        try:
            yield Progress(1, total, 0.0, "analysing")
            cancel.check()
            prepared = self.prepare(r, cancel)
            before = self.original_cues(r, cancel) if measure else None
            for k in range(1, total + 1):
                cancel.check()
                yield Progress(k, total, 0.0, f"iteration {k} of {total}")
                t0 = time.perf_counter()
                ctx = EditContext(
                    iteration=k,
                    total=total,
                    cancel=cancel,
                    previous=previous,
                    state=state,
                    joins_before=r.start > 0,
                    joins_after=r.end < self.clip.frames,
                    device=self.device,
                )
                if request.is_identity:
                    # All intensities zero: the input, bit for bit, no resynthesis.
                    out = prepared.clip
                else:
                    out = yield from self._run_engine(prepared, request, ctx, k, total)
                    if out is not prepared.clip:
                        # On the 24-bit grid: heard, stored (FLAC) and exported identically.  An
                        # engine that returned its input (near-silence passes through) keeps it
                        # bit for bit, as the identity path does (stored as float when needed).
                        out = out.with_samples(to_take_grid(out.samples))
                cancel.check()
                if ctx.converged and k > 1:
                    yield RenderConverged(k - 1)
                    break
                elapsed = time.perf_counter() - t0
                cues = ctx.measured if isinstance(ctx.measured, Cues) else None
                if measure and cues is None:
                    try:
                        cues = measure_cues(out, cancel=cancel)
                    except MemoryError:
                        raise EngineFailure(f"out of memory in iteration {k} while measuring the result") from None
                take = Take(
                    id=self.takes.new_id(),
                    name="",
                    region=r,
                    segment=out,
                    request=request,
                    engine=self.engine.name,
                    iteration=k,
                    iterations=total,
                    render_id=render_id,
                    elapsed_s=elapsed,
                    cues=cues,
                    deltas=cue_deltas(before, cues) if (before and cues) else None,
                    flags=dict(ctx.flags),
                )
                take.name = f"{take.id} {request.summary()} it{k}"
                new.append(take)
                previous = out
                yield Progress(k, total, 1.0, f"iteration {k} of {total} done")
                yield TakeReady(take)
        except Cancelled:
            yield RenderCancelled(len(new))
        return new

    def _run_engine(self, prepared: Prepared, request: EditRequest, ctx: EditContext, k: int, total: int):
        gen = self.engine.edit(prepared, request, ctx)
        try:
            while True:
                try:
                    frac = next(gen)
                except StopIteration as stop:
                    out = stop.value
                    break
                ctx.cancel.check()
                yield Progress(k, total, float(frac), f"iteration {k} of {total}")
        except (StepEditError, Cancelled):
            gen.close()
            raise
        except Exception as exc:  # noqa: BLE001 - engine bugs never take the session down
            raise _engine_crash(self.engine.name, f"in iteration {k}", exc) from exc
        # Checked here, so unusable audio never becomes a take or a file.
        tolerance = self.engine.capabilities().length_tolerance
        return check_engine_output(self.engine.name, out, prepared.clip, request, k, tolerance)

    def run(self, request: EditRequest, region: Region | None = None, cancel: CancelToken | None = None) -> list[Take]:
        """Render to completion (no progress) on this thread; the new takes are added to
        :attr:`takes` and returned."""
        gen = self.render(request, region, cancel)
        while True:
            try:
                ev = next(gen)
            except StopIteration as stop:
                return stop.value
            if isinstance(ev, TakeReady):
                self.takes.add(ev.take)
