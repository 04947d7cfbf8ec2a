"""Clean interrupts: SIGINT and SIGTERM become one exception, raised once, never inside cleanup.

Python's default SIGINT handler raises :class:`KeyboardInterrupt` wherever the main thread
happens to be, and again on every further Ctrl-C: inside a ``finally`` that removes a temporary
file, inside a cffi callback (where it is printed and lost), between ``mkstemp`` returning and
its name being stored.  SIGTERM kills the process without running any cleanup at all.

The command line calls :func:`install`; from then on

* the first SIGINT or SIGTERM raises :class:`Interrupted` (a ``KeyboardInterrupt``, so no
  ``except Exception`` swallows it) at the next bytecode of the main thread;
* while the main thread is inside :func:`deferred` (short critical sections: creating or
  renaming a temporary file, one block of a write), the signal is only recorded and raised when
  the section ends;
* while the main thread is importing a module, the signal is held too and raised as soon as
  the import is over (re-sent to the main thread every :data:`IMPORT_RETRY_S`): an exception
  raised inside an extension module's initialisation does not stop the import, it breaks it
  (scipy's HiGHS binding: "internal error (ImportError: initialization failed)", exit
  status 1);
* later signals are ignored, so the cleanup the first one started runs to its end.

Without :func:`install` (the window, tests, library use) :func:`deferred` does nothing and the
interpreter's own handlers apply.  Nothing here touches Qt.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Exit status for a signal, as shells report it (128 + signal number).
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


class Interrupted(KeyboardInterrupt):
    """The user (SIGINT) or the system (SIGTERM) asked the command to stop."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def verb(self) -> str:
        """``interrupted`` (Ctrl-C) or ``terminated`` (SIGTERM), for the one-line message."""
        return "terminated" if self.signum == signal.SIGTERM else "interrupted"

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class _State:
    installed = False
    previous: dict = {}  # signal -> handler before install()
    armed = True
    depth = 0  # nesting of deferred() in the main thread
    fired: int | None = None  # first signal received
    raised = False  # whether Interrupted has been raised for it
    importing = False  # held because it came during an import (re-sent until raised)


_S = _State()


#: How often a signal held during an import is re-sent to the main thread (s).
IMPORT_RETRY_S = 0.01


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an import (importlib's frames below it)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _resend(signum: int) -> None:
    """Re-send a signal held during an import until the main thread has raised it."""
    main = threading.main_thread().ident
    while True:
        time.sleep(IMPORT_RETRY_S)
        # checked after the wait: not once the handler is gone (uninstall) or the signal
        # ignored (disarm), where a re-sent signal would take the default action
        if not (_S.importing and _S.armed and _S.installed and not _S.raised):
            return
        signal.pthread_kill(main, signum)


def _handler(signum: int, frame: object) -> None:
    if not _S.armed or (_S.fired is not None and not _S.importing):
        return  # a second signal while cleaning up, or after the work is done: ignored
    if _S.fired is None:
        _S.fired = signum
    if _S.depth > 0:
        _S.importing = False
        return  # raised when the critical section ends
    if _importing(frame):
        if not _S.importing:
            _S.importing = True
            threading.Thread(target=_resend, args=(_S.fired,), daemon=True).start()
        return  # raised once the import is over
    _S.importing = False
    _S.raised = True
    raise Interrupted(_S.fired)


def install(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Install the one-shot handler for ``signals`` (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    _S.fired, _S.raised, _S.armed, _S.depth, _S.importing = None, False, True, 0, False
    for s in signals:
        prev = signal.signal(s, _handler)
        if not _S.installed:
            _S.previous[s] = prev
    _S.installed = True


def disarm() -> None:
    """Ignore signals from now on (the work is done; only the process exit is left).

    The installed signals are set to SIG_IGN at the OS level too: the interpreter resets
    Python-level handlers to the default action while it shuts down, and a Ctrl-C arriving
    then would kill a process that has already finished its work."""
    _S.armed = False
    if _S.installed and threading.current_thread() is threading.main_thread():
        for s in _S.previous:
            signal.signal(s, signal.SIG_IGN)


def uninstall() -> None:
    """Restore the handlers :func:`install` replaced (in-process use of the CLI, the window)."""
    if threading.current_thread() is not threading.main_thread() or not _S.installed:
        return
    for s, prev in _S.previous.items():
        signal.signal(s, prev if prev is not None else signal.SIG_DFL)
    _S.previous = {}
    _S.installed = False
    _S.fired, _S.raised, _S.armed, _S.depth, _S.importing = None, False, True, 0, False


def pending() -> Interrupted | None:
    """The interrupt received but not yet raised (swallowed or deferred), if any."""
    if _S.fired is not None and not _S.raised:
        return Interrupted(_S.fired)
    return None


def check() -> None:
    """Raise the pending interrupt, if any (after code that may have swallowed or deferred
    it); nothing once :func:`disarm` was called."""
    exc = pending()
    if exc is not None and _S.armed:
        _S.raised = True
        raise exc


@contextmanager
def deferred(raise_after: bool = True) -> Iterator[None]:
    """Hold SIGINT/SIGTERM for the duration of a short critical section.

    Used around creating, renaming and removing temporary files and around each block written
    by libsndfile (whose I/O callbacks must never see an exception).  A signal received inside
    is raised when the outermost section ends, or, with ``raise_after=False`` (a section whose
    work is complete, such as the rename that finishes a file), left pending for the next
    :func:`check` or section, so the caller can first record what was done.  Nests; in threads
    other than the main one (where Python never runs signal handlers) it does nothing.
    """
    if not _S.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    _S.depth += 1
    try:
        yield
    finally:
        _S.depth -= 1
        if _S.depth == 0 and raise_after:
            check()
