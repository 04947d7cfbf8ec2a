"""Takes and the take list (with undo/redo of the user's take operations)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from stepedit_app.audio.analysis import Cues
from stepedit_app.audio.clip import Clip, Region, splice
from stepedit_app.engines.controls import EditRequest


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

    def describe(self) -> dict:
        """Everything needed to re-render this take."""
        return {
            "name": self.name,
            "engine": self.engine,
            "request": self.request.to_dict(),
            "iteration": self.iteration,
            "region_frames": [self.region.start, self.region.end],
            "created": self.created.isoformat(timespec="seconds"),
        }


class TakeList:
    """Ordered takes with undoable rename / star / delete.

    Listeners registered with :meth:`subscribe` are called with ``(event, take)`` after every
    change (``"added"``, ``"removed"``, ``"changed"``); the GUI turns these into Qt signals.
    """

    def __init__(self) -> None:
        self._takes: list[Take] = []
        self._undo: list[tuple[Callable[[], None], Callable[[], None], str]] = []
        self._redo: list[tuple[Callable[[], None], Callable[[], None], str]] = []
        self._listeners: list[Callable[[str, Take], None]] = []
        self._next_id = 1

    # --- reading -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Take]:
        return iter(list(self._takes))

    def __len__(self) -> int:
        return len(self._takes)

    def __getitem__(self, i: int) -> Take:
        return self._takes[i]

    def by_id(self, take_id: int) -> Take | None:
        return next((t for t in self._takes if t.id == take_id), None)

    def index_of(self, take: Take) -> int:
        return self._takes.index(take)

    def unexported(self) -> list[Take]:
        return [t for t in self._takes if not t.exported]

    def subscribe(self, fn: Callable[[str, Take], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, event: str, take: Take) -> None:
        for fn in list(self._listeners):
            fn(event, take)

    def new_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    # --- changes -----------------------------------------------------------------------------
    def add(self, take: Take) -> None:
        """Append a freshly rendered take (not undoable: renders are not edits of the list)."""
        self._takes.append(take)
        self._emit("added", take)

    def _do(self, do: Callable[[], None], undo: Callable[[], None], label: str) -> None:
        do()
        self._undo.append((do, undo, label))
        self._redo.clear()

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

    # --- undo / redo ---------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1][2] if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1][2] if self._redo else ""

    def undo(self) -> None:
        if self._undo:
            do, undo, label = self._undo.pop()
            undo()
            self._redo.append((do, undo, label))

    def redo(self) -> None:
        if self._redo:
            do, undo, label = self._redo.pop()
            do()
            self._undo.append((do, undo, label))
