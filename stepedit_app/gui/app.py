"""Starting the editor window: ``stepedit`` / ``python -m stepedit_app`` with no subcommand."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from stepedit_app.gui import theme


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once) with the StepEdit names and the dark theme."""
    QCoreApplication.setOrganizationName("StepEdit")
    QCoreApplication.setApplicationName("StepEdit")
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    theme.apply(app)
    return app


def run_gui(path: str | None = None) -> int:
    """Open the editor window (optionally on ``path``) and run the event loop."""
    app = make_app()
    from stepedit_app.gui.main_window import MainWindow

    win = MainWindow()
    app.aboutToQuit.connect(win.shutdown)
    win.show()
    if path:
        # After the window is shown, so an error dialog has a parent on screen.
        QTimer.singleShot(0, win, lambda: win.open_file(path))
    return int(app.exec())
