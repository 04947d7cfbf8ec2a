"""QThread glue: generator workers, and a registry of everything that runs in the background.

A :class:`GeneratorWorker` is a ``QObject`` moved to its own ``QThread`` (the classic
``moveToThread`` wiring of superqt's ``new_worker_qthread``).  It iterates a generator made *on
the worker thread* and reports every yielded value through a queued signal; between yields it
checks its abort flag (and sets the render's :class:`~stepedit_app.engines.base.CancelToken`), so
each ``yield`` is the point where a cancel is honoured.  The worker never touches a widget.

Receivers must be bound methods of ``QObject``\\ s living on the GUI thread: a plain function or
lambda connected to a worker signal would run on the worker thread.  :class:`Job` is such a
receiver for plain callbacks: a controller starts work with ``pool.job(factory,
on_yield=..., on_return=..., on_error=..., on_done=...)`` (superqt's ``create_worker(...,
connect={...})``) and every callback runs on the GUI thread.

Every worker, thread and timer the window creates is recorded in :data:`REGISTRY`, which the
window drains on close and the tests check after each test (nothing may be left running).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from stepedit_app.engines.base import CancelToken
from stepedit_app.errors import Cancelled


class Registry:
    """Weak records of background threads and timers, for shutdown and leak checks."""

    def __init__(self) -> None:
        self._threads: weakref.WeakSet[QThread] = weakref.WeakSet()
        self._timers: weakref.WeakSet[QTimer] = weakref.WeakSet()
        self._workers: weakref.WeakSet[GeneratorWorker] = weakref.WeakSet()

    def add_thread(self, t: QThread) -> None:
        self._threads.add(t)

    def add_timer(self, t: QTimer) -> None:
        self._timers.add(t)

    def add_worker(self, w: GeneratorWorker) -> None:
        self._workers.add(w)

    def running(self) -> list[str]:
        """Descriptions of everything still running (empty when all is quiet)."""
        out: list[str] = []
        for t in list(self._threads):
            try:
                if t.isRunning():
                    out.append(f"QThread {t.objectName() or id(t)}")
            except RuntimeError:  # C++ object already deleted
                pass
        for t in list(self._timers):
            try:
                if t.isActive():
                    out.append(f"QTimer {t.objectName() or id(t)}")
            except RuntimeError:
                pass
        for w in list(self._workers):
            if w.is_running:
                out.append(f"worker {w.objectName() or id(w)}")
        return out


REGISTRY = Registry()


def make_timer(parent: QObject, interval_ms: int, slot: Callable[[], None], *, single_shot: bool = False,
               name: str = "") -> QTimer:
    """A registered ``QTimer`` owned by ``parent`` and connected to ``slot``."""
    t = QTimer(parent)
    t.setObjectName(name)
    t.setInterval(interval_ms)
    t.setSingleShot(single_shot)
    t.timeout.connect(slot)
    REGISTRY.add_timer(t)
    return t


class GeneratorWorker(QObject):
    """Runs ``factory()`` (a generator) on a worker thread.

    Signals
    -------
    started_on(int)
        ``threading.get_ident()`` of the worker thread (tests check it is not the GUI's).
    yielded(object)
        Each value the generator yields.
    returned(object)
        The generator's return value.
    errored(object)
        The exception that ended it (never raised on the GUI thread).
    done()
        Always last, after ``returned``/``errored`` or an abort.
    """

    started_on = Signal(object)
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    done = Signal()

    def __init__(self, factory: Callable[[], Iterator], cancel: CancelToken | None = None, name: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        self._factory = factory
        self.cancel = cancel or CancelToken()
        self._abort = threading.Event()
        self._running = threading.Event()
        self._running.set()  # counts as running from creation until done
        REGISTRY.add_worker(self)

    @property
    def is_running(self) -> bool:
        return self._running.is_set()

    def quit(self) -> None:
        """Ask the worker to stop at its next yield (thread-safe)."""
        self._abort.set()
        self.cancel.cancel()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    @Slot()
    def run(self) -> None:
        try:
            self.started_on.emit(threading.get_ident())
            gen = self._factory()
            while True:
                if self._abort.is_set():
                    gen.close()
                    break
                try:
                    value = next(gen)
                except StopIteration as stop:
                    self.returned.emit(stop.value)
                    break
                self.yielded.emit(value)
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI, never lost
            self.errored.emit(exc)
        finally:
            self._running.clear()
            self.done.emit()


class WorkerHandle(QObject):
    """A worker and its thread; ``stop()`` cancels and waits."""

    def __init__(self, worker: GeneratorWorker, thread: QThread, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = thread

    def stop(self, wait_ms: int = 30000) -> None:
        self.worker.quit()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait(wait_ms)

    @property
    def running(self) -> bool:
        return self.worker.is_running or self.thread.isRunning()


class WorkerPool(QObject):
    """Starts generator workers on their own threads and keeps them until they finish.

    The owner connects the worker's signals to its own slots *before* calling :meth:`start`
    (via ``connect``), and calls :meth:`shutdown` from its close event.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handles: list[WorkerHandle] = []
        #: Set by :meth:`shutdown`: late requests (a timer that fired while closing) start nothing.
        self.closed = False

    def create(self, factory: Callable[[], Iterator], cancel: CancelToken | None = None,
               name: str = "") -> WorkerHandle:
        worker = GeneratorWorker(factory, cancel, name)
        thread = QThread()
        thread.setObjectName(name)
        REGISTRY.add_thread(thread)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.done.connect(thread.quit)
        handle = WorkerHandle(worker, thread)
        thread.finished.connect(self._reap)
        self._handles.append(handle)
        return handle

    def start(self, handle: WorkerHandle) -> None:
        handle.thread.start()

    @Slot()
    def _reap(self) -> None:
        keep = []
        for h in self._handles:
            if h.thread.isFinished() and not h.worker.is_running:
                h.worker.deleteLater()
                h.thread.deleteLater()
                h.deleteLater()
            else:
                keep.append(h)
        self._handles = keep

    @property
    def active(self) -> list[WorkerHandle]:
        return [h for h in self._handles if h.running]

    def job(self, factory: Callable[[], Iterator], *, name: str = "", cancel: CancelToken | None = None,
            on_yield: Callable[[object], None] | None = None, on_return: Callable[[object], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None,
            on_done: Callable[[], None] | None = None) -> Job | None:
        """Start ``factory()`` (a generator) on a worker; the callbacks run on the GUI thread.

        Returns None once the pool is shut down (the window is closing): nothing starts.
        """
        if self.closed:
            return None
        job = Job(self.create(factory, cancel, name), on_yield, on_return, on_error, on_done, self)
        self.start(job.handle)
        return job

    def call(self, fn: Callable[[], object], **kw) -> Job | None:
        """:meth:`job` for a plain function (no progress): ``on_return`` gets its result."""

        def once():
            yield from ()
            return fn()

        return self.job(once, **kw)

    def shutdown(self, wait_ms: int = 30000) -> None:
        """Cancel every worker and wait for its thread (called when the window closes)."""
        self.closed = True
        for h in list(self._handles):
            h.worker.quit()
        for h in list(self._handles):
            if h.thread.isRunning():
                h.thread.quit()
                h.thread.wait(wait_ms)
        self._reap()


class Job(QObject):
    """A started worker and the GUI-thread callbacks that receive what it reports."""

    def __init__(self, handle: WorkerHandle, on_yield, on_return, on_error, on_done, parent: QObject) -> None:
        super().__init__(parent)
        self.handle = handle
        self.finished = False
        self._on = (on_yield, on_return, on_error, on_done)
        w = handle.worker
        w.yielded.connect(self._yielded)
        w.returned.connect(self._returned)
        w.errored.connect(self._errored)
        w.done.connect(self._done)

    # Once done, the worker's thread is reaped (its C++ object deleted): a finished job
    # answers from its own flag and never touches it again.
    @property
    def running(self) -> bool:
        return not self.finished and self.handle.running

    @property
    def cancelled(self) -> bool:
        return self.handle.worker.aborted

    def cancel(self) -> None:
        """Ask the worker to stop at its next yield (its callbacks may still run)."""
        if not self.finished:
            self.handle.worker.quit()

    def wait(self, ms: int = 30000) -> None:
        if not self.finished:
            self.handle.stop(ms)

    @Slot(object)
    def _yielded(self, value: object) -> None:
        if self._on[0] is not None:
            self._on[0](value)

    @Slot(object)
    def _returned(self, value: object) -> None:
        if self._on[1] is not None and not self.cancelled:
            self._on[1](value)

    @Slot(object)
    def _errored(self, exc: object) -> None:
        # A cancelled job is not an error: the user moved on (never "Unexpected error: Cancelled").
        if self._on[2] is not None and not isinstance(exc, Cancelled):
            self._on[2](exc)

    @Slot()
    def _done(self) -> None:
        self.finished = True
        try:
            if self._on[3] is not None:
                self._on[3]()
        finally:
            self._on = (None, None, None, None)
            self.deleteLater()
