"""The window with the GPU engine's ~50 controls: how fast it switches and filters, and how long
a render through the real worker process takes in the window (stand-in source tree, no GPU).

Prints:

- switching the engine picker from ``prosody`` (22 sliders) to ``step-audio-editx`` (48) and
  back: the sliders rebuilt and the window painted (median of several switches);
- one keystroke in the filter box with all 48 controls listed (median), and the longest;
- opening the window to the first render's take in the window with the stand-in worker: the
  worker's start and model load (the stand-in loads nothing, so this is the process and
  protocol overhead), then a second render with the worker warm.

Usage::

    .venv/bin/python benchmarks/gui_step_audio.py [--switches 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engines" / "step_audio"))
_NULL_ALSA = ROOT / "tests" / "data" / "asoundrc.null"
if "ALSA_CONFIG_PATH" not in os.environ and not (Path.home() / ".asoundrc").exists():
    os.environ["ALSA_CONFIG_PATH"] = str(_NULL_ALSA)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--switches", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stepedit-bench-"))
    # Private configuration, log, data: nothing of the user's is read or written.
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"), ("STEPEDIT_DATA_DIR", "data"),
                     ("STEPEDIT_CONFIG_DIR", "cfg")):
        os.environ[var] = str(tmp / sub)
    from standin import TRANSCRIPTS, build_standin, standin_settings

    from stepedit_app.engines.step_audio.engine import shutdown_shared
    from stepedit_app.engines.step_audio.settings import save_settings
    from stepedit_app.gui.app import make_app

    source, models = build_standin(tmp / "tree", "v1")
    save_settings(standin_settings(source, models))
    app = make_app()
    from PySide6.QtCore import QSettings

    from stepedit_app.audio.playback import Player
    from stepedit_app.gui.main_window import MainWindow

    def settle(cond=lambda: True, timeout=120.0) -> None:
        t0 = time.perf_counter()
        while not cond() and time.perf_counter() - t0 < timeout:
            app.processEvents()
            time.sleep(0.002)
        app.processEvents()

    line = ROOT / "tests" / "data" / "cmu_arctic_us_axb_a0004.wav"
    w = MainWindow(player=Player(), settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   autosave_root=tmp / "autosave")
    w.ask_unsaved = lambda n: "discard"
    w.resize(1366, 800)
    w.show()
    w.open_file(line)
    settle(lambda: w.state.clip is not None)
    try:
        switch = []
        for _ in range(args.switches):
            for name in ("step-audio-editx", "prosody"):
                t0 = time.perf_counter()
                w.renderer.set_engine(name)
                w.repaint()
                switch.append((name, time.perf_counter() - t0))
        to_gpu = [t for n, t in switch if n == "step-audio-editx"]
        to_cpu = [t for n, t in switch if n == "prosody"]
        print(f"engine switch to step-audio-editx (48 sliders): median {1000 * statistics.median(to_gpu):.1f} ms, "
              f"max {1000 * max(to_gpu):.1f} ms")
        print(f"engine switch to prosody (22 sliders):          median {1000 * statistics.median(to_cpu):.1f} ms, "
              f"max {1000 * max(to_cpu):.1f} ms")

        w.renderer.set_engine("step-audio-editx")
        c = w.controls
        keys = []
        for text in ("w", "wh", "whi", "whis", "whisp", "", "s", "st", "sty", "styl", "style", "", "a", "an", "ang"):
            t0 = time.perf_counter()
            c.filter.setText(text)
            c.repaint()
            keys.append(time.perf_counter() - t0)
        print(f"filter keystroke (48 controls, repaint included): median {1000 * statistics.median(keys):.1f} ms, "
              f"max {1000 * max(keys):.1f} ms")
        c.filter.clear()

        w.state.set_transcript(TRANSCRIPTS[line.name])
        w.controls.iterations.setValue(1)
        w.controls.rows[("emotion", "happy")].slider.setValue(60)
        for label in ("first render (starts the worker, loads the stand-in)", "second render (worker warm)"):
            n = len(w.state.takes)
            t0 = time.perf_counter()
            w.renderer.render()
            settle(lambda n=n: len(w.state.takes) > n and not w.renderer.rendering)
            took = time.perf_counter() - t0
            eng = w.state.takes[-1].flags.get("engine", {})
            print(f"{label}: {took:.2f} s in the window, of which {eng.get('model_s')} s in the stand-in's edit() "
                  f"({line.name}, {w.state.clip.duration:.1f} s)")
    finally:
        w.close()
        shutdown_shared()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
