"""Regenerate docs/screenshot-main.png: the window with a take selected and its diff shown.

Runs offscreen (no display needed)::

    .venv/bin/python docs/screenshot.py [--out docs/screenshot-main.png]

Opens tests/data/LJ001-0004.wav at 1600x1000, selects 1.0-3.0 s, renders happy 60 % with two
iterations, selects the last take, waits for its diff and grabs the window.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot-main.png"))
    ap.add_argument("--size", default="1600x1000")
    args = ap.parse_args()
    from PySide6.QtCore import QEventLoop, QSettings, QStandardPaths, QTimer

    from stepedit_app.gui.app import make_app
    from stepedit_app.gui.main_window import MainWindow

    app = make_app([sys.argv[0]])
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.TempLocation))
                             / "stepedit-screenshot.ini"), QSettings.Format.IniFormat)
    w, h = (int(v) for v in args.size.split("x"))
    win = MainWindow(settings=settings)
    win.ask_discard = lambda n: True
    win.resize(w, h)
    win.show()

    def wait(signal, timeout_ms=120000):
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    win.spectrogram_done.connect(lambda: None)
    win.open_file(ROOT / "tests" / "data" / "LJ001-0004.wav")
    wait(win.spectrogram_done)
    win.timeline.wave_vb.selected.emit(1.0, 3.0)
    win.controls.rows[("emotion", "happy")].slider.setValue(60)
    win.controls.iterations.setValue(2)
    win.render()
    wait(win.render_finished)
    take = win.session.takes[len(win.session.takes) - 1]
    win.takes_panel.select(-1)
    win.takes_panel.select(take.id)
    wait(win.diff_ready)
    win.transport.show_source("B", take.name)
    win.timeline.set_playhead(2.2)
    win.transport.show_time(2.2)
    for _ in range(5):
        app.processEvents()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out))
    print(f"wrote {out} ({w}x{h})")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
