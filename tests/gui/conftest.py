"""GUI test setup: isolated settings, the real window, and a leak check after every test.

The leak check fails any test that leaves a QThread, a QTimer or a worker of the window
running, or a task in the global thread pool (napari's conftest does the same).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QStandardPaths, QThreadPool


@pytest.fixture(scope="session", autouse=True)
def _gui_session(qapp):
    QStandardPaths.setTestModeEnabled(True)
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
def make_window(qtbot, settings):
    """Factory for real main windows; each is closed (and waits for its workers) at teardown."""
    from stepedit_app.gui.main_window import MainWindow

    made = []

    def make(player=None, size=(1366, 768)):
        from stepedit_app.audio.playback import Player

        w = MainWindow(player=player if player is not None else Player(paced_stream), settings=settings)
        w.ask_discard = lambda n: True  # closing with unexported takes: don't block on a dialog
        w.resize(*size)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        w.deleteLater()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def opened(window, qtbot, female_clip_path):
    """The window with LJ001-0004 open and its spectrogram filled."""
    with qtbot.waitSignal(window.spectrogram_done, timeout=30000):
        assert window.open_file(female_clip_path)
    return window
