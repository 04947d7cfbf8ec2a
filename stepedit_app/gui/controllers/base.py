"""What every controller has: the state, a worker pool, ``status`` and ``failed`` signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from stepedit_app.gui.workers import WorkerPool
from stepedit_app.session.editor import EditorState


class Controller(QObject):
    """Base of the window's controllers.

    Signals
    -------
    status(str)
        One line for the status bar.
    failed(str, object)
        Something the user must see: a dialog title and the exception (one line + details).
    """

    status = Signal(str)
    failed = Signal(str, object)

    def __init__(self, state: EditorState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.pool = WorkerPool(self)

    def shutdown(self) -> None:
        """Cancel every worker and wait for it (the window is closing)."""
        self.pool.shutdown()
