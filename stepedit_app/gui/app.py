"""Starting the editor window: ``stepedit`` / ``python -m stepedit_app`` with no subcommand.

Two checks come before Qt is asked for a window, because Qt's own failures are misleading or
fatal:

- no display: on Linux without ``DISPLAY`` or ``WAYLAND_DISPLAY`` Qt's xcb plugin aborts the
  process with "xcb-cursor0 or libxcb-cursor0 is needed", which sends people to install a
  library they do not need.  We say in one line that the window needs a display.
- a PySide6 that leaks references to ``None``: PySide6 6.12.0 drops one on every Qt call that
  returns nothing, and on Python before 3.12 (where ``None`` is not immortal) the process dies
  with ``Fatal Python error: none_dealloc`` after some seconds of playback.  A cheap probe at
  start refuses such a build with one line instead of losing the user's work later.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

EXIT_NO_DISPLAY = 2
EXIT_BAD_QT = 2


def display_problem(env: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no window can open here (one line), or None when it can."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    qpa = env.get("QT_QPA_PLATFORM", "")
    if not platform.startswith("linux") or qpa.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs",
                                                                      "linuxfb", "wayland"):
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("the editor window needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY are "
                "not set); run it in a desktop session, over ssh -X, or under xvfb-run; for headless "
                "work use 'stepedit edit' (see 'stepedit --help')")
    if env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY") and ctypes.util.find_library("xcb-cursor") is None:
        return ("Qt needs the X11 cursor library to open a window: install it "
                "(Debian/Ubuntu: sudo apt-get install libxcb-cursor0)")
    return None


def none_leak_problem(calls: int = 200) -> str | None:
    """One line when this PySide6 leaks references to ``None`` on this Python (see module doc)."""
    if sys.version_info >= (3, 12):
        return None  # None is immortal: a leaked reference cannot free it
    import gc

    import PySide6
    from PySide6.QtCore import QObject

    probe = QObject()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("x")  # returns nothing: the kind of call that leaked
    gc.collect()
    lost = before - sys.getrefcount(None)
    if lost < calls // 2:
        return None
    return (f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} loses a reference to None on "
            f"every Qt call and would crash during playback; install a supported version: "
            f"pip install 'PySide6-Essentials>=6.11,<6.12' (or use Python 3.12+)")


def make_app(argv: list[str] | None = None):
    """The QApplication (created once) with the StepEdit names and the dark theme."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from stepedit_app.gui import theme

    QCoreApplication.setOrganizationName("StepEdit")
    QCoreApplication.setApplicationName("StepEdit")
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    theme.apply(app)
    return app


def run_gui(path: str | None = None) -> int:
    """Open the editor window (optionally on ``path``, audio or project) and run the event loop."""
    problem = display_problem()
    if problem:
        print(f"stepedit: {problem}", file=sys.stderr)
        return EXIT_NO_DISPLAY
    problem = none_leak_problem()
    if problem:
        print(f"stepedit: {problem}", file=sys.stderr)
        return EXIT_BAD_QT
    app = make_app()
    from PySide6.QtCore import QTimer

    from stepedit_app.gui.main_window import MainWindow

    win = MainWindow()
    app.aboutToQuit.connect(win.shutdown)
    win.show()

    def start() -> None:
        # After the window is shown, so dialogs have a parent on screen.
        if not win.offer_recovery() and path:
            win.open_file(path)

    QTimer.singleShot(0, win, start)
    return int(app.exec())
