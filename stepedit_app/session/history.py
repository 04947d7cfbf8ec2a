"""Undo and redo: one history for every change the user makes in the editor.

Take renames, stars and deletions (:class:`~stepedit_app.session.takes.TakeList`), slider
changes and region selections (:class:`~stepedit_app.session.editor.EditorState`) all record
here, so Ctrl+Z walks back through them in the order they were made, as in an audio editor.
Each entry is a pair of plain callables; recording never runs them twice.  No Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One undoable step: ``undo()`` restores the state before it, ``redo()`` the state after."""

    label: str
    undo: Callable[[], None]
    redo: Callable[[], None]


class History:
    """A linear undo/redo stack.

    Parameters
    ----------
    limit
        Oldest entries are dropped beyond this many.
    """

    def __init__(self, limit: int = 500) -> None:
        self._undo: list[Entry] = []
        self._redo: list[Entry] = []
        self._limit = int(limit)
        self._listeners: list[Callable[[], None]] = []
        self._replaying = False

    # --- recording ---------------------------------------------------------------------------
    def do(self, label: str, redo: Callable[[], None], undo: Callable[[], None]) -> None:
        """Run ``redo`` now and record it (what a user action does)."""
        redo()
        self.record(label, undo=undo, redo=redo)

    def record(self, label: str, *, undo: Callable[[], None], redo: Callable[[], None]) -> None:
        """Record a change that has already been made (e.g. a slider drag, when it ends)."""
        if self._replaying:  # an undo/redo callback changed state: that is not a new step
            return
        self._undo.append(Entry(label, undo, redo))
        del self._undo[: max(0, len(self._undo) - self._limit)]
        self._redo.clear()
        self._changed()

    # --- reading -----------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    # --- replay ------------------------------------------------------------------------------
    def undo(self) -> bool:
        """Undo the last step; False when there is none."""
        if not self._undo:
            return False
        e = self._undo.pop()
        self._run(e.undo)
        self._redo.append(e)
        self._changed()
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is none."""
        if not self._redo:
            return False
        e = self._redo.pop()
        self._run(e.redo)
        self._undo.append(e)
        self._changed()
        return True

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._changed()

    def _run(self, fn: Callable[[], None]) -> None:
        self._replaying = True
        try:
            fn()
        finally:
            self._replaying = False

    # --- listeners ---------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[], None]) -> None:
        """``fn()`` after every change of the stacks (to update Undo/Redo menu items)."""
        self._listeners.append(fn)

    def _changed(self) -> None:
        for fn in list(self._listeners):
            fn()
