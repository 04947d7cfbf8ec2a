"""GUI test setup: isolated settings and data folders, the real window, and a leak check after
every test.

The leak check fails any test that leaves a QThread, a QTimer or a worker of the window
running, or a task in the global thread pool (napari's conftest does the same).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, QStandardPaths, Qt, QThreadPool
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


@pytest.fixture(scope="session", autouse=True)
def _gui_session(qapp, tmp_path_factory):
    QStandardPaths.setTestModeEnabled(True)
    # Autosaves, presets and settings of the tests never touch the user's folders.
    os.environ["STEPEDIT_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["STEPEDIT_CONFIG_DIR"] = str(tmp_path_factory.mktemp("config"))
    from stepedit_app.gui import theme

    theme.apply(qapp)
    yield


@pytest.fixture(autouse=True)
def no_leaks(qapp):
    """Fail the test if anything it started is still running after teardown."""
    from stepedit_app.gui.workers import REGISTRY

    yield
    qapp.processEvents()
    running = REGISTRY.running()
    pool = QThreadPool.globalInstance().activeThreadCount()
    assert not running, f"left running: {running}"
    assert pool == 0, f"{pool} thread-pool task(s) left running"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "stepedit-test.ini"), QSettings.Format.IniFormat)


def paced_stream(**kw):
    """A real PortAudio stream on the (null) test device, paced to real time.

    ALSA's null device consumes audio as fast as the callback fills it, so a 5 s clip would
    "play" in milliseconds; sleeping one block's duration after each callback makes playback
    last as long as it would on a sound card, so the window's playing state can be observed.
    """
    import time

    import sounddevice as sd

    callback, rate = kw["callback"], kw["samplerate"]

    def paced(outdata, frames, t, status):
        callback(outdata, frames, t, status)
        time.sleep(frames / rate)

    kw["callback"] = paced
    return sd.OutputStream(**kw)


@pytest.fixture
def autosave_root(tmp_path):
    return tmp_path / "autosave"


@pytest.fixture
def make_window(qtbot, settings, autosave_root):
    """Factory for real main windows; each is closed (and waits for its workers) at teardown."""
    from stepedit_app.gui.main_window import MainWindow

    made = []

    def make(player=None, size=(1366, 768)):
        from stepedit_app.audio.playback import Player

        w = MainWindow(player=player if player is not None else Player(paced_stream), settings=settings,
                       autosave_root=autosave_root)
        w.ask_unsaved = lambda n: "discard"  # closing with unsaved takes: don't block on a dialog
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        w.deleteLater()


@pytest.fixture
def window(make_window):
    return make_window()


def open_and_wait(window, qtbot, path) -> None:
    with qtbot.waitSignal(window.analysis.spectrogram_done, timeout=30000):
        with qtbot.waitSignal(window.documents.opened, timeout=30000):
            assert window.open_file(path)


@pytest.fixture
def opened(window, qtbot, female_clip_path):
    """The window with LJ001-0004 open and its spectrogram filled."""
    open_and_wait(window, qtbot, female_clip_path)
    return window


# --- driving the window as a user does ---------------------------------------------------------
def render_and_wait(window, qtbot, timeout=120000) -> int:
    with qtbot.waitSignal(window.renderer.finished, timeout=timeout) as blocker:
        assert window.renderer.render()
    return blocker.args[0]


def render_two_takes(window, qtbot, group: str, name: str, pct: int) -> None:
    """Two takes from two one-iteration renders (half of ``pct``, then ``pct``, where the slider
    stays): a second iteration of one render may converge instead of adding a take."""
    window.controls.iterations.setValue(1)
    for p in (pct // 2, pct):
        set_slider(window, group, name, p)
        assert render_and_wait(window, qtbot) == 1


def set_slider(window, group: str, name: str, pct: int) -> None:
    """Move a slider as the keyboard does (each step final at once)."""
    window.controls.rows[(group, name)].slider.setValue(pct)


def view_point(window, t: float, plot: str = "wave") -> QPoint:
    """Viewport pixel of time ``t`` (seconds of the timeline shown) in the middle of a plot."""
    tl = window.timeline
    vb = tl.wave_vb if plot == "wave" else tl.spec_vb
    (_, _), (y0, y1) = vb.viewRange()
    scene = vb.mapViewToScene(QPointF(t, (y0 + y1) / 2))
    return tl.mapFromScene(scene)


def _mouse(widget, kind, pos: QPoint, button, buttons, modifiers) -> None:
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, ev)


def drag(window, qtbot, t0: float, t1: float, *, shift: bool = False, plot: str = "wave", steps: int = 8) -> None:
    """A real mouse drag (press, moves with the button held, release) across the views."""
    vp = window.timeline.viewport()
    left = Qt.MouseButton.LeftButton
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    a, b = view_point(window, t0, plot), view_point(window, t1, plot)
    _mouse(vp, QEvent.Type.MouseButtonPress, a, left, left, mods)
    for k in range(1, steps + 1):
        p = QPoint(int(round(a.x() + (b.x() - a.x()) * k / steps)), a.y())
        _mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left, mods)
        qtbot.wait(5)
    _mouse(vp, QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton, mods)
    qtbot.wait(20)


def click(window, qtbot, t: float, *, shift: bool = False, plot: str = "wave") -> None:
    vp = window.timeline.viewport()
    left = Qt.MouseButton.LeftButton
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    p = view_point(window, t, plot)
    _mouse(vp, QEvent.Type.MouseButtonPress, p, left, left, mods)
    _mouse(vp, QEvent.Type.MouseButtonRelease, p, left, Qt.MouseButton.NoButton, mods)
    qtbot.wait(20)


def region_seconds(window) -> tuple[float, float] | None:
    r = window.state.region
    return None if r is None else r.seconds(window.state.clip.rate)


def spectrum_energy(img: np.ndarray) -> float:
    return float(np.mean(img))
