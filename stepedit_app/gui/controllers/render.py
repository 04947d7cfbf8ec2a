"""Renders on a worker thread; takes published on the GUI thread; auto-render; latest wins.

The session's render generator runs on a worker and yields progress and finished takes; the
takes arrive here through queued signals and are added to the state on the GUI thread (the
take list is never touched from the worker).  A render asked for while one runs cancels it
and starts when it has stopped (dragging a slider with auto-render on renders the last value,
not every one on the way).

A variations grid (:meth:`RenderController.render_variations`) runs on the same worker, one
cell after another (:func:`~stepedit_app.session.variations.render_variations`); its takes,
named by their cell, are published here like any others.  The selection follows the cells as
they finish (and a playing loop hears each from its next pass) until the user picks a take.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal

from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.registry import engine_class, engine_names
from stepedit_app.errors import StepEditError
from stepedit_app.gui import engine_panels
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.workers import Job, make_timer
from stepedit_app.session.editor import EditorState, plural
from stepedit_app.session.session import Progress, RenderCancelled, RenderConverged, TakeReady
from stepedit_app.session.variations import Variation, VariationProgress, VariationTake, render_variations

AUTO_RENDER_DEBOUNCE_MS = 250


class RenderController(Controller):
    """Starts, cancels and reports renders of the selected region.

    Signals
    -------
    started(int)
        A render of this many iterations began.
    progress(int, float, str)
        Iteration, fraction inside it, message.
    take_ready(object, bool)
        A take was added (on the GUI thread); True for the render's last iteration.
    cancelled(int)
        The render was cancelled after this many finished iterations (they are kept).
    converged(int)
        The render ended early at this iteration: the next one could not improve on it, so
        its take (now selected) is the result and no duplicate take was added.
    finished(int)
        The render ended (finished, cancelled or failed) with this many new takes.
    render_thread(object)
        ``threading.get_ident()`` of the worker the render ran on.
    transcript_missing(bool)
        A render was refused: the engine needs the region's words and the field is empty (the
        window points at the field); True when the user asked for the render, False for an
        auto-render (no dialog for those).
    setup_wanted(str, str)
        The user picked an engine that is not available but can be set up from the window
        (:mod:`stepedit_app.gui.engine_panels`): its name and why it is unavailable.
    grid_started(list)
        A variations grid began (after ``started``): the labels of its cells, in order.
    engines_changed(list, str), devices_changed(list, str)
        ``[(name, available, reason)]`` and the current engine; the devices it can use and
        the current one.
    """

    engines_changed = Signal(list, str)
    devices_changed = Signal(list, str)
    started = Signal(int)
    progress = Signal(int, float, str)
    take_ready = Signal(object, bool)
    cancelled = Signal(int)
    converged = Signal(int)
    finished = Signal(int)
    render_thread = Signal(object)
    transcript_missing = Signal(bool)
    setup_wanted = Signal(str, str)
    grid_started = Signal(list)

    def __init__(self, state: EditorState, parent=None) -> None:
        super().__init__(state, parent)
        self._job: Job | None = None
        self._pending: tuple | None = None
        self._new = 0
        self._last_new = None
        self._was_cancelled = False
        #: The iteration a render converged at (0: it did not end early).
        self._converged = 0
        self._session = None
        self._token = CancelToken()
        #: What the device picker's tooltip says about where the engine runs.
        self.device_note = ""
        self._auto = False
        self._grid: _Grid | None = None
        self._selecting = False
        self.auto_timer = make_timer(self, AUTO_RENDER_DEBOUNCE_MS, self._auto_render, single_shot=True,
                                     name="auto-render")
        state.events.connect("committed", self._on_committed)
        state.events.connect("document", self.cancel)
        state.events.connect("take", self._on_selected)

    @property
    def rendering(self) -> bool:
        return self._job is not None and self._job.running

    # --- starting ----------------------------------------------------------------------------
    def render(self) -> bool:
        """Render the region (the whole clip without one) with the current controls.

        Returns False (after saying why) when nothing can be rendered.
        """
        st = self.state
        if st.session is None:
            self.status.emit("Open a file first.")
            return False
        try:
            request = st.request()
            region = st.session.region_or_whole(st.region)
            caps = st.session.engine.capabilities()
            if caps.needs_transcript and request.wants_transcript and not request.transcript:
                self.transcript_missing.emit(not self._auto)
                return False
            caps.check_request(request)
        except StepEditError as exc:
            self.failed.emit("Cannot render", exc)
            return False
        session = st.session
        if self.rendering:
            # Latest wins: cancel the running render, start this one when it has stopped.
            self._pending = (session, lambda: self._start(session, request, region))
            self._token.cancel()
            return True
        self._start(session, request, region)
        return True

    def render_variations(self, variations: list[Variation], keep_iterations: bool = False) -> bool:
        """Render a variations grid on the region (the whole clip without one), one cell after
        another; each cell's final take is named by the cell (``angry 50%``).  With
        ``keep_iterations`` the earlier iterations of each cell become takes too.  Esc cancels:
        the finished cells are kept.  Returns False (after saying why) when nothing can start.
        """
        st = self.state
        if st.session is None:
            self.status.emit("Open a file first.")
            return False
        if not variations:
            self.status.emit("Nothing to vary.")
            return False
        session = st.session
        try:
            region = session.region_or_whole(st.region)
            caps = session.engine.capabilities()
            for v in variations:
                caps.check_request(v.request)
        except StepEditError as exc:
            self.failed.emit("Cannot render variations", exc)
            return False
        start = lambda: self._start_grid(session, list(variations), region, keep_iterations)  # noqa: E731
        if self.rendering:
            self._pending = (session, start)
            self._token.cancel()
            return True
        start()
        return True

    def _start(self, session, request, region) -> None:
        # Cancelling sets only the token: the session then stops at its next step and reports
        # what it kept (aborting the worker's loop would drop that report).
        cancel = self._token = CancelToken()
        ident = []

        def work():
            ident.append(threading.get_ident())
            yield ("thread", ident[0])
            yield from session.render(request, region, cancel)

        self._new, self._last_new, self._was_cancelled, self._converged = 0, None, False, 0
        self._session = session
        self._grid = None
        self._job = self.pool.job(work, name="render", on_yield=self._on_event,
                                  on_error=self._on_error, on_done=self._on_done)
        self.started.emit(request.iterations)
        self.status.emit(f"rendering {request.summary()} ({plural(request.iterations, 'iteration')})…")

    def _start_grid(self, session, variations: list[Variation], region, keep_iterations: bool) -> None:
        cancel = self._token = CancelToken()
        ident = []

        def work():
            ident.append(threading.get_ident())
            yield ("thread", ident[0])
            yield from render_variations(session, variations, region, cancel)

        self._new, self._last_new, self._was_cancelled, self._converged = 0, None, False, 0
        self._session = session
        self._grid = _Grid(len(variations), keep_iterations)
        self._job = self.pool.job(work, name="render", on_yield=self._on_event,
                                  on_error=self._on_error, on_done=self._on_done)
        self.started.emit(len(variations))
        self.grid_started.emit([v.label for v in variations])
        first, last = variations[0].label, variations[-1].label
        span = first if len(variations) == 1 else f"{first} … {last}"
        self.status.emit(f"rendering {plural(len(variations), 'variation')} ({span})…")

    def cancel(self, *_args) -> None:
        """Stop the render at its next step; finished iterations are kept."""
        self._pending = None
        self.auto_timer.stop()
        if self.rendering:
            self._token.cancel()

    # --- events (GUI thread) -----------------------------------------------------------------
    def _on_event(self, ev) -> None:
        if isinstance(ev, tuple) and ev and ev[0] == "thread":
            self.render_thread.emit(ev[1])
        elif isinstance(ev, Progress):
            self.progress.emit(ev.iteration, ev.fraction, ev.message)
        elif isinstance(ev, VariationProgress):
            # one progress bar per cell: its own progress over its iterations
            p = ev.progress
            message = "analysing" if p.message == "analysing" else ev.variation.label
            self.progress.emit(ev.index, min(1.0, (p.iteration - 1 + p.fraction) / p.total), message)
        elif isinstance(ev, VariationTake):
            self._on_variation_take(ev)
        elif isinstance(ev, TakeReady):
            if self._session is not self.state.session:
                return  # the document changed under a finishing render
            take = ev.take
            self.state.add_take(take)
            self._new += 1
            self._last_new = take
            last = take.iteration == take.iterations
            self.take_ready.emit(take, last)
            if last:
                self.state.select_take(take.id)
        elif isinstance(ev, RenderConverged):
            # Iteration k+1 could not improve on k: k's take is the result (no duplicate take).
            self._converged = ev.iteration
            if self._last_new is not None and self._session is self.state.session:
                self.state.select_take(self._last_new.id)
            self.converged.emit(ev.iteration)
        elif isinstance(ev, RenderCancelled) and self._grid is not None:
            self._was_cancelled = True
            g = self._grid
            self.cancelled.emit(g.cells_done)
            self.status.emit(f"variations cancelled; {g.cells_done} of {plural(g.total, 'variation')} kept")
        elif isinstance(ev, RenderCancelled):
            self._was_cancelled = True
            if ev.kept and self._last_new is not None:
                self.state.select_take(self._last_new.id)
            self.cancelled.emit(ev.kept)
            self.status.emit(f"render cancelled; {plural(ev.kept, 'finished iteration')} kept")

    def _on_variation_take(self, ev: VariationTake) -> None:
        g = self._grid
        if g is None or self._session is not self.state.session:
            return  # the document changed under a finishing grid
        if not ev.final and not g.keep_iterations:
            return  # only each cell's final take is kept
        take = ev.take
        self.state.add_take(take)
        self._new += 1
        self._last_new = take
        if ev.final:
            g.cells_done += 1
        self.take_ready.emit(take, ev.final and g.follow)
        if ev.final and g.follow:  # (a receiver of take_ready may have selected a take itself)
            self._selecting = True
            try:
                self.state.select_take(take.id)
            finally:
                self._selecting = False

    def _on_selected(self, take) -> None:
        # The user picked a take while a grid renders: stop moving the selection to new cells.
        if self._grid is not None and not self._selecting and self.rendering:
            self._grid.follow = False

    def _on_error(self, exc: BaseException) -> None:
        self.failed.emit("Render failed", exc)

    def _on_done(self) -> None:
        n = self._new
        grid = self._grid
        self._job = None
        self._grid = None
        if self._pending is not None:
            session, start = self._pending
            self._pending = None
            if session is self.state.session:
                start()
                return
        if grid is not None and grid.cells_done and not self._was_cancelled:
            self.status.emit(f"{plural(grid.cells_done, 'variation')} ready — arrows audition them, S stars, "
                             "Workflows → Export Starred delivers the starred ones")
        elif n and not self._was_cancelled and self._converged:
            k = self._converged
            self.status.emit(f"{plural(n, 'take')} ready — converged at iteration {k}: iteration {k + 1} could not "
                             "improve on it, so it is the result")
        elif n and not self._was_cancelled:
            self.status.emit(f"{plural(n, 'take')} ready — Tab switches original/take, arrows move through takes")
        self.finished.emit(n)

    # --- engine ------------------------------------------------------------------------------
    def load_engines(self) -> None:
        """List the engines and apply the current one's controls to the state."""
        entries = []
        for name in engine_names():
            ok, reason = engine_class(name).availability()
            entries.append((name, ok, reason))
        self.engines_changed.emit(entries, self.state.engine_name)
        self._apply_capabilities()

    def _apply_capabilities(self) -> None:
        st = self.state
        caps = st.session.engine.capabilities() if st.session is not None else engine_class(st.engine_name)().capabilities()
        spec = engine_panels.ui(caps.name)
        if spec is not None and spec.devices is not None:
            # The engine knows its devices (its GPU belongs to a worker process, not to the
            # editor's own torch): no CUDA gate here.
            devices, self.device_note = spec.devices(caps)
        else:
            devices = [d for d in caps.devices if d == "cpu" or (d == "cuda" and _cuda_present())] or ["cpu"]
            self.device_note = ""
        if st.device not in devices:
            st.device = devices[0]
        st.set_capabilities(caps)
        self.devices_changed.emit(devices, st.device)

    def set_engine(self, name: str) -> bool:
        st = self.state
        if name == st.engine_name:
            return True
        try:
            if st.session is not None:
                self.cancel()
                st.session.set_engine(name)
            else:
                ok, reason = engine_class(name).availability()
                if not ok:
                    raise StepEditError(f"engine {name!r} is not available: {reason}")
        except StepEditError as exc:
            spec = engine_panels.ui(name)
            ok, reason = engine_class(name).availability()
            if not ok and spec is not None and spec.setup:
                # Offer the setup instead of refusing; the picker goes back to the current
                # engine until the setup is saved.
                self.engines_changed.emit([(n, *engine_class(n).availability()) for n in engine_names()],
                                          st.engine_name)
                self.setup_wanted.emit(name, reason)
                return False
            self.failed.emit("Cannot switch engine", exc)
            self.engines_changed.emit([(n, *engine_class(n).availability()) for n in engine_names()], st.engine_name)
            return False
        st.set_engine(name)
        self._apply_capabilities()
        self.status.emit(f"engine: {name}")
        return True

    def set_device(self, device: str) -> bool:
        st = self.state
        if st.session is not None:
            try:
                st.session.set_device(device)
            except StepEditError as exc:
                self.failed.emit("Cannot use this device", exc)
                return False
        st.set_engine(st.engine_name, device)
        self.status.emit(f"engine device: {device.upper()}")
        return True

    # --- auto-render -------------------------------------------------------------------------
    def _on_committed(self) -> None:
        if self.state.auto_render:
            self.auto_timer.start()

    def _auto_render(self) -> None:
        if self.state.session is not None and self.state.region is not None:
            self._auto = True
            try:
                self.render()
            finally:
                self._auto = False

    def shutdown(self) -> None:
        self._pending = None
        self.auto_timer.stop()
        super().shutdown()


def _cuda_present() -> bool:
    """Whether CUDA can be used (only asked when an engine offers it: importing torch is slow)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch: no CUDA
        return False


class _Grid:
    """What the controller tracks of a running variations grid."""

    def __init__(self, total: int, keep_iterations: bool) -> None:
        self.total = total
        self.keep_iterations = keep_iterations
        self.cells_done = 0
        #: The selection follows finished cells until the user selects a take.
        self.follow = True
