"""Regenerate the README's screenshots of the editor window.

- ``docs/screenshot-main.png``: a take heard as B — the waveform and spectrogram show the take
  in its region with what follows shifted by its change in tempo — with its diff;
- ``docs/screenshot-original.png``: the same take selected while the original (A) is shown,
  the take overlaid in the accent colour.

Runs offscreen (no display needed)::

    .venv/bin/python docs/screenshot.py [--out-dir docs] [--size 1600x1000]

Opens tests/data/LJ001-0004.wav, selects 1.0-3.0 s, renders sad 70 % (slower and lower) with
two iterations, selects the last take, waits for its diff, and grabs the window in A and in B.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "ALSA_CONFIG_PATH" not in os.environ and not (Path.home() / ".asoundrc").exists():
    os.environ["ALSA_CONFIG_PATH"] = str(ROOT / "tests" / "data" / "asoundrc.null")  # an output to show


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(ROOT / "docs"))
    ap.add_argument("--size", default="1600x1000")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    os.environ.setdefault("STEPEDIT_DATA_DIR", tmp.name)  # no autosave in the user's folders
    os.environ.setdefault("STEPEDIT_CONFIG_DIR", tmp.name)
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from stepedit_app.gui.app import make_app
    from stepedit_app.gui.main_window import MainWindow

    app = make_app([sys.argv[0]])
    settings = QSettings(str(Path(tmp.name) / "stepedit-screenshot.ini"), QSettings.Format.IniFormat)
    w, h = (int(v) for v in args.size.split("x"))
    win = MainWindow(settings=settings, autosave_root=Path(tmp.name) / "autosave")
    win.ask_unsaved = lambda n: "discard"
    win.resize(w, h)
    win.show()

    def wait(signal, timeout_ms=120000):
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    def settle():
        for _ in range(10):
            app.processEvents()

    win.open_file(ROOT / "tests" / "data" / "LJ001-0004.wav")
    wait(win.analysis.spectrogram_done)
    st = win.state
    st.set_region_seconds(1.0, 3.0)
    win.controls.rows[("emotion", "sad")].slider.setValue(70)
    win.controls.iterations.setValue(2)
    win.renderer.render()
    wait(win.renderer.finished)
    if win.diff_view.diff is None:
        wait(win.analysis.diff_ready)
    take = st.selected_take
    st.set_cursor(2.2)
    settle()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out / "screenshot-original.png"))
    win.playback.toggle_ab()  # B: the views show what is heard
    wait(win.analysis.b_ready, 30000)
    wait(win.analysis.detail_ready, 3000)
    settle()
    win.grab().save(str(out / "screenshot-main.png"))
    print(f"wrote {out / 'screenshot-main.png'} (B: {take.name}) and {out / 'screenshot-original.png'} ({w}x{h})")
    win.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
