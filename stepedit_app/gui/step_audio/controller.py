"""The window's side of the Step-Audio-EditX engine: its worker's state, diagnosis, model
loading, cloning and configuration, each slow step on a worker thread.

The engine itself (:mod:`stepedit_app.engines.step_audio`) is Qt-free and renders through the
render controller like any engine; this controller adds what only this engine has.  The
worker process is shared by the whole editor (:func:`~stepedit_app.engines.step_audio.engine.shared_client`):
loading the model here warms the worker the next render uses.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal

from stepedit_app.audio.clip import Clip
from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.step_audio.engine import (
    ENGINE_NAME,
    StepAudioEngine,
    shared_client,
    shutdown_shared,
)
from stepedit_app.engines.step_audio.settings import StepAudioSettings, load_settings, log_path, save_settings
from stepedit_app.errors import StepEditError
from stepedit_app.gui.controllers.base import Controller
from stepedit_app.gui.dialogs import open_file
from stepedit_app.gui.workers import Job
from stepedit_app.session.editor import EditorState


def worker_facts() -> dict:
    """What is known about the engine without starting anything.

    Keys: ``configured`` (bool), ``problem`` (why not, one line), ``settings``, ``alive``,
    ``hello`` (the running worker's hello: python, device, memory), ``loaded`` (generation, load
    seconds).  Reads the configuration file; never starts the worker.
    """
    try:
        settings = load_settings()
    except StepEditError as exc:
        return {"configured": False, "problem": str(exc), "settings": None, "alive": False, "hello": None, "loaded": None}
    if settings is None:
        return {"configured": False, "problem": "not configured", "settings": None, "alive": False, "hello": None,
                "loaded": None}
    ok, reason = StepAudioEngine.availability()
    client = shared_client(settings)  # an object only: the process starts with the first request
    alive = client.alive
    return {"configured": ok, "problem": "" if ok else reason, "settings": settings, "alive": alive,
            "hello": client.hello if alive else None, "loaded": client.loaded if alive else None}


def describe_device(hello: dict | None) -> tuple[str, bool]:
    """``(line, ok)`` about the GPU the model worker sees (from its hello), for the panel and
    the device picker's tooltip."""
    if not hello:
        return ("The model runs on the GPU of its worker process (its own Python and torch), not the editor's; "
                "Diagnose checks it."), True
    total = hello.get("memory_total_mb")
    mem = f", {total / 1024:.0f} GB" if total else ""
    if hello.get("cuda"):
        return f"GPU of the model worker: {hello.get('device')}{mem}.", True
    why = hello.get("torch_error") or "its torch has no CUDA device"
    seen = hello.get("device")
    card = f" nvidia-smi lists {seen}{mem}, but" if seen and seen != "cpu" else ""
    return f"The model worker runs on the CPU:{card} {why}. Diagnose says why.", False


class StepAudioController(Controller):
    """Worker status, diagnosis, model loading and unloading, cloning, configuration.

    Signals
    -------
    worker_changed(dict)
        New :func:`worker_facts` (after a render, a load, an unload or a new configuration).
    doctor_started(), doctor_done(list)
        A diagnosis began; its :class:`~stepedit_app.engines.step_audio.doctor.Check` lines.
    load_progress(str)
        What the model load is doing (starting the worker, loading the weights).
    load_done(dict), load_failed(str)
        The model is loaded (the worker's load figures), or why not (one line).
    clone_done(object), clone_failed(str), clone_finished()
        A clone was written (its path); why a clone failed (one line, also sent to
        :attr:`failed`); a clone ended one way or another (also when cancelled).
    settings_saved(object)
        A new configuration was written (its path).
    """

    worker_changed = Signal(dict)
    doctor_started = Signal()
    doctor_done = Signal(list)
    load_progress = Signal(str)
    load_done = Signal(dict)
    load_failed = Signal(str)
    clone_done = Signal(object)
    clone_failed = Signal(str)
    clone_finished = Signal()
    settings_saved = Signal(object)

    def __init__(self, state: EditorState, parent=None) -> None:
        super().__init__(state, parent)
        self._doctor: Job | None = None
        self._load: Job | None = None
        self._clone: Job | None = None
        self._clone_cancel = CancelToken()
        self.facts: dict = {}

    # --- status ------------------------------------------------------------------------------
    def refresh(self) -> dict:
        """Re-read :func:`worker_facts` and announce them."""
        self.facts = worker_facts()
        self.worker_changed.emit(self.facts)
        return self.facts

    def open_log(self) -> bool:
        """Open the worker's log with the desktop's viewer."""
        path = log_path()
        if not path.exists():
            self.status.emit(f"no worker log yet ({path}): the worker has not run")
            return False
        return open_file(path)

    # --- diagnosis ---------------------------------------------------------------------------
    @property
    def diagnosing(self) -> bool:
        return self._doctor is not None and self._doctor.running

    def diagnose(self) -> bool:
        """Run :func:`stepedit_app.engines.step_audio.doctor.checks` on a worker (it starts the
        model environment's Python, so it takes seconds); :attr:`doctor_done` gets the lines."""
        from stepedit_app.engines.step_audio.doctor import checks

        if self.diagnosing:
            return False
        self.doctor_started.emit()
        self.status.emit("checking the Step-Audio-EditX setup…")
        self._doctor = self.pool.call(checks, name="step-audio-doctor", on_return=self._doctor_returned,
                                      on_error=lambda exc: self.failed.emit("Diagnosis failed", exc))
        return self._doctor is not None

    def _doctor_returned(self, lines: list) -> None:
        bad = sum(1 for c in lines if c.status == "FAIL")
        self.status.emit("Step-Audio-EditX setup: " + (f"{bad} problem(s) found" if bad else "no problem found"))
        self.doctor_done.emit(lines)

    # --- model -------------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._load is not None and self._load.running

    def load_model(self) -> bool:
        """Start the shared worker and load the weights now (the next render starts at once)."""
        try:
            settings = load_settings()
        except StepEditError as exc:
            self.failed.emit("Cannot load the model", exc)
            return False
        if settings is None:
            self.status.emit("Step-Audio-EditX is not configured: Engine → Step-Audio-EditX Setup…")
            return False
        if self.loading:
            return False
        cancel = CancelToken()
        client = shared_client(settings)

        def work():
            gen = client.ensure_ready(cancel)
            while True:
                try:
                    ev = next(gen)
                except StopIteration as stop:
                    return stop.value
                yield ev.get("stage") or "working"

        self.status.emit("starting the Step-Audio-EditX worker and loading the model…")
        self._load = self.pool.job(work, name="step-audio-load", cancel=cancel,
                                   on_yield=lambda stage: self.load_progress.emit(str(stage)),
                                   on_return=self._loaded, on_error=self._load_error,
                                   on_done=self.refresh)
        return self._load is not None

    def cancel_load(self) -> None:
        if self._load is not None:
            self._load.cancel()

    def _loaded(self, result: dict) -> None:
        self.status.emit(f"Step-Audio-EditX {result.get('generation')} loaded in {result.get('load_s')} s")
        self.refresh()  # the worker's hello (its device) is known now
        self.load_done.emit(dict(result))

    def _load_error(self, exc: BaseException) -> None:
        self.load_failed.emit(" ".join(str(exc).split()))
        self.failed.emit("Cannot load the model", exc)

    def unload(self) -> None:
        """Stop the shared worker (frees the GPU memory); the next render starts it again."""
        self.pool.call(shutdown_shared, name="step-audio-unload", on_done=self._unloaded)

    def _unloaded(self) -> None:
        self.status.emit("Step-Audio-EditX worker stopped: its GPU memory is free; the next render loads the model again")
        self.refresh()

    # --- cloning -----------------------------------------------------------------------------
    @property
    def cloning(self) -> bool:
        return self._clone is not None and self._clone.running

    def clone(self, prompt: Clip, prompt_text: str, text: str, output: Path, seed: int | None = None) -> bool:
        """Speak ``text`` in the voice of ``prompt`` (whose words are ``prompt_text``) on a
        worker and write it to ``output`` (atomically, 24-bit); :attr:`clone_done` gets the path."""
        from stepedit_app.audio.io import write_clip

        if self.cloning:
            return False
        cancel = self._clone_cancel = CancelToken()
        output = Path(output)

        def work():
            engine = StepAudioEngine()
            gen = engine.clone(prompt, prompt_text, text, cancel, seed=seed)
            while True:
                try:
                    f = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                yield f
            cancel.check()
            # The prompt's own file is never written (write_clip refuses it).
            return write_clip(result, output, "24", protect=(prompt.path,))

        self.status.emit("cloning the voice…")
        self._clone = self.pool.job(work, name="step-audio-clone", cancel=cancel, on_return=self._cloned,
                                    on_error=self._clone_error, on_done=self._clone_ended)
        return self._clone is not None

    def cancel_clone(self) -> None:
        """Stop the clone (the worker drops the call); nothing is written."""
        self._clone_cancel.cancel()
        if self._clone is not None:
            self._clone.cancel()

    def _cloned(self, path: Path) -> None:
        self.status.emit(f"cloned voice written to {path}")
        self.clone_done.emit(Path(path))

    def _clone_error(self, exc: BaseException) -> None:
        self.clone_failed.emit(" ".join(str(exc).split()))
        self.failed.emit("Cloning failed", exc)

    def _clone_ended(self) -> None:
        self._clone = None
        self.clone_finished.emit()
        self.refresh()

    # --- configuration -----------------------------------------------------------------------
    def save(self, settings: StepAudioSettings) -> Path:
        """Write ``settings`` (atomically) and make the engine use them: the window's engine list
        is re-read and a session on this engine gets a fresh engine (and so, when the model
        environment changed, a fresh worker on its next render)."""
        try:
            old = load_settings()
        except StepEditError:
            old = None
        path = save_settings(settings)
        st = self.state
        if st.session is not None and st.session.engine.name == ENGINE_NAME:
            st.session.set_engine(ENGINE_NAME)
        self.status.emit(f"saved {path}")
        self.settings_saved.emit(path)
        if old is not None and old.key() != settings.key():
            # A worker of the old model environment is stopped on a worker thread (it may be
            # finishing a call), never on the GUI thread.
            self.pool.call(shutdown_shared, name="step-audio-unload", on_done=self.refresh)
        else:
            self.refresh()
        return path

    def shutdown(self) -> None:
        self._clone_cancel.cancel()
        super().shutdown()
