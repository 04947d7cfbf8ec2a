"""Documents: opening audio and projects, saving, autosave, crash recovery and export.

Every slow step runs on a worker with progress: reading and hashing the file and building its
peak pyramid (:func:`stepedit_app.session.documents.open_audio`, the one open path), reading a
project's takes back, writing a project, autosaving, exporting.  Results come back to the GUI
thread, where the state changes.

Autosave: after each take (and, a little later, after other changes) the document is written
to this window's autosave folder (:class:`stepedit_app.session.project.Autosave`), one write at
a time; a change during a write schedules one more.  A clean close removes the folder; after a
crash the next start offers what is there (:meth:`DocumentsController.recoverable`).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal

from stepedit_app.engines.base import CancelToken
from stepedit_app.errors import StepEditError
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.workers import Job, make_timer
from stepedit_app.session.documents import OpenedAudio, OpenedProject, SourceProblem, open_audio, open_project
from stepedit_app.session.editor import EditorState, plural
from stepedit_app.session.export import iter_export
from stepedit_app.session.project import (
    Autosave,
    ProjectSnapshot,
    Recoverable,
    discard_recoverable,
    find_recoverable,
    iter_save,
)
from stepedit_app.session.session import EditSession
from stepedit_app.session.takes import Take

#: Autosave after changes other than takes (selection, sliders) once they settle.
SETTLE_MS = 1500


class DocumentsController(Controller):
    """Open / save / autosave / recover / export.

    Signals
    -------
    opened()
        A clip or project is now the state's document.
    progress(str, float)
        What is being done and how far (0..1); a negative fraction: done.
    saved(object)
        A project was written (its path).
    autosaved(float)
        An autosave finished; seconds from the change to the file on disk.
    exported(object)
        A take was exported (the path written).
    source_problem(object)
        A project's source moved or changed (:class:`~stepedit_app.session.documents.SourceProblem`);
        answer with :meth:`resolve_source`.
    restore_problems(list)
        Takes of a project that could not be restored (one line each).
    """

    opened = Signal()
    progress = Signal(str, float)
    saved = Signal(object)
    autosaved = Signal(float)
    exported = Signal(object)
    source_problem = Signal(object)
    restore_problems = Signal(list)

    def __init__(self, state: EditorState, parent=None, autosave_root: Path | None = None) -> None:
        super().__init__(state, parent)
        self.autosave_root = autosave_root
        self.autosave = Autosave(autosave_root)
        self._open: Job | None = None
        self._pending: dict | None = None
        self._auto: Job | None = None
        self._auto_again = False
        self._auto_t0 = 0.0
        self._closing = False
        self.soon = make_timer(self, 0, self.autosave_now, single_shot=True, name="autosave")
        self.settle = make_timer(self, SETTLE_MS, self.autosave_now, single_shot=True, name="autosave-settle")
        state.events.connect("takes", self._on_takes)
        state.events.connect("region", self._on_settling_change)
        state.events.connect("committed", self._on_settling_change)

    # --- opening -----------------------------------------------------------------------------
    def _start_open(self, factory, label: str, on_return) -> None:
        if self._open is not None:
            self._open.cancel()
        cancel = CancelToken()

        def work():
            gen = factory(cancel)
            while True:
                try:
                    f = next(gen)
                except StopIteration as stop:
                    return stop.value
                yield f

        self.progress.emit(label, 0.0)
        self._open = self.pool.job(work, name="open", cancel=cancel,
                                   on_yield=lambda f: self.progress.emit(label, float(f)),
                                   on_return=on_return, on_error=self._open_failed,
                                   on_done=lambda: self.progress.emit("", -1.0))

    def _open_failed(self, exc: BaseException) -> None:
        self.failed.emit("Cannot open", exc)

    def open_audio(self, path: str | Path) -> None:
        """Open an audio file (on a worker); the current document stays until it is read."""
        self._start_open(lambda cancel: open_audio(path, cancel), f"opening {Path(path).name}", self._audio_opened)

    def _new_session(self, audio: OpenedAudio) -> EditSession | None:
        try:
            return EditSession(audio.clip, self.state.engine_name, self.state.device)
        except StepEditError as exc:
            self.failed.emit("Cannot start the engine", exc)
            return None

    def _replace(self, audio: OpenedAudio, project_path: Path | None = None) -> EditSession | None:
        session = self._new_session(audio)
        if session is None:
            return None
        old = self.state.session
        self._wait_autosave()
        self.autosave.discard()  # the user already agreed to leave the old document
        self.autosave = Autosave(self.autosave_root)
        self.state.set_document(audio.clip, session, audio.peaks, audio.sha256, project_path)
        if old is not None:
            old.engine.close()
        return session

    def _audio_opened(self, audio: OpenedAudio) -> None:
        if self._replace(audio) is None:
            return
        c = audio.clip
        self.status.emit(f"{c.name}: {c.duration:.2f} s, {c.rate} Hz, {plural(c.channels, 'channel')}, "
                         f"{c.subtype or ''}. Drag in the waveform to select a region.")
        self.opened.emit()

    def open_project(self, path: str | Path, *, source: Path | None = None, accept_changed: bool = False,
                     recovered: Recoverable | None = None) -> None:
        """Open a project (on a worker).  A moved or changed source is reported through
        :attr:`source_problem` first."""
        self._pending = {"path": Path(path), "recovered": recovered}
        self._start_open(lambda cancel: open_project(path, cancel, source=source, accept_changed=accept_changed),
                         f"opening {Path(path).name}", self._project_opened)

    def resolve_source(self, problem: SourceProblem, located: Path | None = None, accept_changed: bool = False) -> None:
        """The user's answer to :attr:`source_problem`: a located file and/or "open anyway"."""
        pending = self._pending or {"path": problem.file.path, "recovered": None}
        self.open_project(pending["path"], source=located, accept_changed=accept_changed,
                          recovered=pending["recovered"])

    def _project_opened(self, result: OpenedProject | SourceProblem) -> None:
        if isinstance(result, SourceProblem):
            self.source_problem.emit(result)
            return
        recovered = (self._pending or {}).get("recovered")
        pf = result.file
        user_path = pf.user_project if recovered is not None else pf.path
        session = self._replace(result.audio, user_path)
        if session is None:
            return
        st = self.state
        session.takes.restore(result.takes, pf.doc.get("next_take_id"))
        if pf.selection is not None:
            st.set_region(pf.selection, record=False)
        if pf.controls is not None:
            try:
                st.apply_request(pf.controls, "project controls")
            except StepEditError:
                pass  # controls this engine does not have: the takes still open
        st.history.clear()
        if recovered is not None:
            # Continue in the recovered folder: its take files are reused, nothing is copied.
            self.autosave.adopt(recovered)
            st.mark_modified()
        else:
            st.mark_saved(pf.path)
        if result.takes:
            st.select_take(result.takes[-1].id)
        what = "recovered" if recovered is not None else "opened"
        extra = f" (source changed: {result.source.path.name})" if result.source and result.source.status == "changed" else ""
        self.status.emit(f"{what} {plural(len(result.takes), 'take')} of {result.audio.clip.name}{extra}")
        if result.problems:
            self.restore_problems.emit(result.problems)
        self.opened.emit()

    # --- saving ------------------------------------------------------------------------------
    def snapshot(self) -> ProjectSnapshot | None:
        st = self.state
        if st.clip is None or st.session is None or st.clip.path is None or st.source_sha256 is None:
            return None
        try:
            controls = st.request()
        except StepEditError:
            controls = None
        return ProjectSnapshot.capture(st.clip, st.source_sha256, st.session.takes, selection=st.region,
                                       engine=st.engine_name, controls=controls,
                                       next_id=st.session.takes.next_id, project_path=st.project_path)

    def save_project(self, path: str | Path) -> bool:
        """Write the document as a project at ``path`` (on a worker); False if nothing to save."""
        snap = self.snapshot()
        if snap is None:
            self.status.emit("Open a file first.")
            return False
        path = Path(path)
        label = f"saving {path.name}"
        self.progress.emit(label, 0.0)
        self.pool.job(lambda: iter_save(path, snap), name="save",
                                     on_yield=lambda f: self.progress.emit(label, float(f)),
                                     on_return=self._project_saved,
                                     on_error=lambda exc: self.failed.emit("Cannot save the project", exc),
                                     on_done=lambda: self.progress.emit("", -1.0))
        return True

    def save_project_now(self, path: str | Path) -> bool:
        """Write the project on this thread (closing the window: nothing may be left to a
        worker).  Errors go to :attr:`failed`; returns whether it was written."""
        from stepedit_app.session.project import run_generator

        snap = self.snapshot()
        if snap is None:
            return False
        try:
            out = run_generator(iter_save(Path(path), snap))
        except StepEditError as exc:
            self.failed.emit("Cannot save the project", exc)
            return False
        self._project_saved(out)
        return True

    def _project_saved(self, path: Path) -> None:
        self.state.mark_saved(path)
        self.status.emit(f"saved {path}")
        self.saved.emit(path)

    # --- autosave ----------------------------------------------------------------------------
    def _on_takes(self, _event: str, _take: Take) -> None:
        if not self._closing:
            self.settle.stop()
            self.soon.start()

    def _on_settling_change(self, *_args) -> None:
        if not self._closing and self.state.takes:
            self.settle.start()

    def autosave_now(self) -> None:
        """Write the autosave (coalesced: one write at a time, one more if changed meanwhile)."""
        if self._auto is not None and self._auto.running:
            self._auto_again = True
            return
        snap = self.snapshot()
        if snap is None or (not snap.takes and not self.autosave.project.exists()):
            return  # nothing to lose yet
        self._auto_again = False
        self._auto_t0 = time.perf_counter()
        self._auto = self.pool.job(lambda: self.autosave.iter_write(snap), name="autosave",
                                   on_return=self._autosaved,
                                   on_error=lambda exc: self.status.emit(f"autosave failed: {exc}"),
                                   on_done=self._autosave_done)

    def _autosaved(self, _path: Path) -> None:
        self.autosaved.emit(time.perf_counter() - self._auto_t0)

    def _autosave_done(self) -> None:
        self._auto = None
        if self._auto_again and not self._closing:
            self.soon.start()

    def _wait_autosave(self) -> None:
        self.soon.stop()
        self.settle.stop()
        if self._auto is not None:
            self._auto.wait()
            self._auto = None

    def recoverable(self) -> list[Recoverable]:
        """Autosaves left by windows that did not close (crash, kill), newest first."""
        mine = self.autosave.folder
        return [r for r in find_recoverable(self.autosave.root) if r.folder != mine]

    def discard_recoverable(self, rec: Recoverable) -> None:
        discard_recoverable(rec)

    def close_clean(self) -> None:
        """The user closed with nothing to lose: the autosave is no longer needed."""
        self._closing = True
        self._wait_autosave()
        self.autosave.discard()

    # --- export ------------------------------------------------------------------------------
    def export(self, take: Take, path: Path, *, subtype: str | None, scope: str, lufs: float | None,
               true_peak_db: float) -> None:
        """Export ``take`` to ``path`` on a worker; :attr:`exported` when written."""
        clip = self.state.clip
        if clip is None:
            return
        label = f"exporting {path.name}"
        self.progress.emit(label, 0.0)

        def done(out: Path) -> None:
            if self.state.session is not None and not take.exported:
                self.state.session.takes.mark_exported(take)
            self.status.emit(f"exported {out}")
            self.exported.emit(out)

        self.pool.job(lambda: iter_export(clip, take, path, subtype=subtype, scope=scope, lufs=lufs,
                                          true_peak_db=true_peak_db),
                      name="export", on_yield=lambda f: self.progress.emit(label, float(f)), on_return=done,
                      on_error=lambda exc: self.failed.emit("Export failed", exc),
                      on_done=lambda: self.progress.emit("", -1.0))

    def shutdown(self) -> None:
        self._closing = True
        self.soon.stop()
        self.settle.stop()
        super().shutdown()
