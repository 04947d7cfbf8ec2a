"""The edit session: one source clip, one engine, renders over iterations, the takes.

:meth:`EditSession.render` is a generator.  It yields :class:`Progress` events (once per
iteration and finer where the engine reports it) and a :class:`TakeReady` per finished
iteration, and checks the cancel token at each yield.  The GUI runs it on a worker thread; the
command line and batch jobs iterate it directly.  A cancelled render keeps the takes already
finished and drops the partial one; a failing engine raises :class:`EngineError` and leaves the
session (clip, takes, cache) exactly as it was.
"""

from __future__ import annotations

import time
import traceback
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass

from stepedit_app.audio.analysis import Cues, cue_deltas, measure_cues
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.engines.base import CancelToken, EditContext, Engine, Prepared
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.registry import create_engine
from stepedit_app.errors import Cancelled, EngineError, StepEditError
from stepedit_app.session.takes import Take, TakeList


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


class EngineFailure(EngineError):
    """An engine raised something unexpected; ``details`` holds the traceback text."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


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
        self._cues: OrderedDict[tuple, Cues] = OrderedDict()
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
        return r

    def prepare(self, region: Region | None = None, cancel: CancelToken | None = None) -> Prepared:
        """The engine's analysis of ``region`` (cached: slider moves do not redo it)."""
        r = self.region_or_whole(region)
        key = (self.engine.name, r.start, r.end)
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        try:
            prepared = self.engine.prepare(self.clip.slice(r), cancel)
        except (StepEditError, Cancelled):
            raise
        except Exception as exc:  # noqa: BLE001 - any engine bug becomes one line + details
            raise EngineFailure(
                f"engine {self.engine.name!r} failed while analysing: {exc}", traceback.format_exc()
            ) from exc
        self._prepared[key] = prepared
        while len(self._prepared) > self.CACHE_SIZE:
            self._prepared.popitem(last=False)
        return prepared

    def original_cues(self, region: Region | None = None, cancel: CancelToken | None = None) -> Cues:
        r = self.region_or_whole(region)
        key = (r.start, r.end)
        if key not in self._cues:
            self._cues[key] = measure_cues(self.clip.slice(r), cancel=cancel)
            while len(self._cues) > 16:
                self._cues.popitem(last=False)
        return self._cues[key]

    # --- rendering ---------------------------------------------------------------------------
    def render(
        self,
        request: EditRequest,
        region: Region | None = None,
        cancel: CancelToken | None = None,
        measure: bool = True,
    ) -> Generator[RenderEvent, None, list[Take]]:
        """Run ``request.iterations`` iterations on ``region``; every one becomes a take.

        Yields progress and take events; returns the list of new takes.  Raises
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
                cancel.check()
                if ctx.converged and k > 1:
                    yield RenderConverged(k - 1)
                    break
                elapsed = time.perf_counter() - t0
                cues = ctx.measured if isinstance(ctx.measured, Cues) else None
                if measure and cues is None:
                    cues = measure_cues(out, cancel=cancel)
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
                )
                take.name = f"{take.id} {request.summary()} it{k}"
                self.takes.add(take)
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
            raise EngineFailure(
                f"engine {self.engine.name!r} failed in iteration {k}: {exc}", traceback.format_exc()
            ) from exc
        if not isinstance(out, Clip):
            raise EngineFailure(f"engine {self.engine.name!r} returned no audio in iteration {k}")
        if out.channels != prepared.clip.channels or out.rate != prepared.clip.rate:
            raise EngineFailure(f"engine {self.engine.name!r} changed the channel count or rate")
        return out

    def run(self, request: EditRequest, region: Region | None = None, cancel: CancelToken | None = None) -> list[Take]:
        """Render to completion (no progress), returning the new takes."""
        gen = self.render(request, region, cancel)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value
