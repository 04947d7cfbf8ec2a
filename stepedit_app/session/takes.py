"""Takes and the take list (with undo/redo of the user's take operations).

A take's audio lives on the 24-bit grid (:func:`to_take_grid`): the session rounds every
rendered take to it when the take is made, so what is auditioned, what a project stores
losslessly in FLAC and what a 24-bit export writes are the same samples, bit for bit.  The
rounding error is at most half a 24-bit step (-144 dBFS), far under any converter's noise.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from stepedit_app.audio.analysis import Cues
from stepedit_app.audio.clip import Clip, Region, splice
from stepedit_app.engines.controls import EditRequest
from stepedit_app.session.history import History

#: Resolution takes are kept at (and stored at, losslessly, in FLAC).
TAKE_BITS = 24
_SCALE = float(2 ** (TAKE_BITS - 1))


def to_take_grid(samples: np.ndarray) -> np.ndarray:
    """``samples`` rounded to the 24-bit grid (float32; values beyond full scale are kept).

    Exact in float32: scaling by a power of two and rounding to an integer below 2**24 lose
    nothing, so ``to_take_grid(to_take_grid(x)) == to_take_grid(x)``.
    """
    x = np.asarray(samples, dtype=np.float32)
    # "+ 0" turns rounding's -0.0 into 0.0: FLAC has no negative zero.
    return (np.round(x * np.float32(_SCALE)) / np.float32(_SCALE) + np.float32(0.0)).astype(np.float32)


def on_take_grid(samples: np.ndarray) -> bool:
    """True when ``samples`` are 24-bit values within full scale and without negative zeros
    (so FLAC stores them exactly)."""
    x = np.asarray(samples, dtype=np.float32)
    k = x * np.float32(_SCALE)
    return bool(np.all(k == np.round(k)) and k.min(initial=0) >= -_SCALE and k.max(initial=0) <= _SCALE - 1
                and not np.any(np.signbit(x) & (x == 0)))


@dataclass(eq=False)
class Take:
    """One iteration's result.

    ``segment`` is the edited region alone (its length may differ from the region's when the
    tempo changed); :meth:`full` splices it into the source clip.
    """

    id: int
    name: str
    region: Region
    segment: Clip
    request: EditRequest
    engine: str
    iteration: int
    iterations: int
    render_id: int
    elapsed_s: float
    cues: Cues | None = None
    deltas: dict[str, float] | None = None
    created: _dt.datetime = field(default_factory=lambda: _dt.datetime.now().astimezone())
    starred: bool = False
    exported: bool = False
    #: What the engine flagged about this output (see ``EditContext.flags``): lost band,
    #: passes kept whole because alignment failed, ...; shown by the diff.
    flags: dict = field(default_factory=dict)

    def full(self, source: Clip) -> Clip:
        """The whole clip with this take spliced into its region."""
        return splice(source, self.region, self.segment.samples)

    def summary(self) -> str:
        return f"{self.request.summary()} · it {self.iteration}/{self.iterations} · {self.engine}"


class TakeList:
    """Ordered takes with undoable rename / star / delete.

    Not thread-safe for changes: one thread owns the list (the GUI thread in the window; a
    render generator only *yields* takes, the owner adds them).  Ids may be drawn from any
    thread (:meth:`new_id`).  Listeners registered with :meth:`subscribe` are called with
    ``(event, take)`` after every change (``"added"``, ``"removed"``, ``"changed"``).

    Parameters
    ----------
    history
        Where rename / star / delete record their undo steps; shared with the rest of the
        editor so that one Ctrl+Z walks back through every kind of change.
    """

    def __init__(self, history: History | None = None) -> None:
        self._takes: list[Take] = []
        self.history = history if history is not None else History()
        self._listeners: list[Callable[[str, Take], None]] = []
        self._next_id = 1
        self._id_lock = threading.Lock()

    # --- reading -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Take]:
        return iter(list(self._takes))

    def __len__(self) -> int:
        return len(self._takes)

    def __getitem__(self, i: int) -> Take:
        return self._takes[i]

    def by_id(self, take_id: int) -> Take | None:
        return next((t for t in self._takes if t.id == take_id), None)

    def subscribe(self, fn: Callable[[str, Take], None]) -> None:
        self._listeners.append(fn)

    def unsubscribe(self, fn: Callable[[str, Take], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, event: str, take: Take) -> None:
        for fn in list(self._listeners):
            fn(event, take)

    def new_id(self) -> int:
        """The next take id (thread-safe: renders draw ids on their worker thread)."""
        with self._id_lock:
            i = self._next_id
            self._next_id += 1
            return i

    @property
    def next_id(self) -> int:
        return self._next_id

    # --- changes -----------------------------------------------------------------------------
    def add(self, take: Take) -> None:
        """Append a freshly rendered take (not undoable: renders are not edits of the list)."""
        self._takes.append(take)
        self._emit("added", take)

    def restore(self, takes: Iterable[Take], next_id: int | None = None) -> None:
        """Add takes read back from a project (in order, not undoable); ids continue after
        the largest one (or ``next_id`` when that is larger)."""
        for t in takes:
            self._takes.append(t)
            self._emit("added", t)
        with self._id_lock:
            top = max((t.id for t in self._takes), default=0) + 1
            self._next_id = max(self._next_id, top, next_id or 0)

    def _do(self, do: Callable[[], None], undo: Callable[[], None], label: str) -> None:
        self.history.do(label, do, undo)

    def rename(self, take: Take, name: str) -> None:
        name = " ".join(name.split())
        old = take.name
        if not name or name == old:
            return

        def set_(n: str) -> Callable[[], None]:
            def f() -> None:
                take.name = n
                self._emit("changed", take)

            return f

        self._do(set_(name), set_(old), f"rename take {old!r}")

    def set_starred(self, take: Take, starred: bool) -> None:
        if take.starred == starred:
            return

        def set_(v: bool) -> Callable[[], None]:
            def f() -> None:
                take.starred = v
                self._emit("changed", take)

            return f

        self._do(set_(starred), set_(not starred), "star take" if starred else "unstar take")

    def remove(self, take: Take) -> None:
        idx = self._takes.index(take)

        def rm() -> None:
            self._takes.remove(take)
            self._emit("removed", take)

        def put_back() -> None:
            self._takes.insert(idx, take)
            self._emit("added", take)

        self._do(rm, put_back, f"delete take {take.name!r}")

    def mark_exported(self, take: Take) -> None:
        take.exported = True
        self._emit("changed", take)

    # --- undo / redo (the shared history) ------------------------------------------------------
    def can_undo(self) -> bool:
        return self.history.can_undo()

    def can_redo(self) -> bool:
        return self.history.can_redo()

    def undo_label(self) -> str:
        return self.history.undo_label()

    def redo_label(self) -> str:
        return self.history.redo_label()

    def undo(self) -> None:
        self.history.undo()

    def redo(self) -> None:
        self.history.redo()
