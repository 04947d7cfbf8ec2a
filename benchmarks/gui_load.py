"""Editor-window figures on a 60-minute 48 kHz mono file (generated here from real speech).

Prints:

- time from ``open_file`` to the clip opened (read, hash, peak pyramid on a worker) and to the
  first paint of the waveform, and the whole spectrogram filled;
- peak memory (max RSS) of the process, and its growth over opening;
- the longest event-loop stall while a render runs (a 5 ms timer measures the gaps; target
  under 100 ms), rendering a 2-second region of the long file; each take is autosaved as it
  arrives, so this stall includes the autosaves;
- the time to autosave a take (from the take arriving to the project on disk, on a worker),
  and the longest stall during a burst of autosaves (renames of every take);
- slider release → the new take queued for loop audition (it is heard at the next loop pass,
  so add up to one pass of the loop).

Usage::

    .venv/bin/python benchmarks/gui_load.py [--minutes 60] [--keep FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_NULL_ALSA = ROOT / "tests" / "data" / "asoundrc.null"
if "ALSA_CONFIG_PATH" not in os.environ and not (Path.home() / ".asoundrc").exists():
    os.environ["ALSA_CONFIG_PATH"] = str(_NULL_ALSA)


def generate(path: Path, minutes: float, rate: int = 48000) -> None:
    """Tile LJ001-0004 (resampled to 48 kHz) to ``minutes`` of 16-bit mono, written in blocks."""
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    x, sr = sf.read(ROOT / "tests" / "data" / "LJ001-0004.wav", dtype="float32")
    y = resample_poly(x, rate, sr).astype(np.float32)
    total = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as f:
        done = 0
        k = 0
        while done < total:
            gain = 0.6 + 0.4 * ((k * 7919) % 10) / 10  # vary the level so the overview is not flat
            block = (y * gain)[: total - done]
            f.write(block)
            done += len(block)
            k += 1


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--keep", help="use / keep the generated file here")
    ap.add_argument("--generate-only", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate_only:
        generate(Path(args.generate_only), args.minutes)
        return 0
    tmp = tempfile.TemporaryDirectory()
    path = Path(args.keep) if args.keep else Path(tmp.name) / f"long_{int(args.minutes)}min_48k.wav"
    if not path.exists():
        t = time.perf_counter()
        # In a child process, so generating does not count towards this process's peak memory.
        subprocess.run([sys.executable, __file__, "--minutes", str(args.minutes), "--generate-only", str(path)],
                       check=True)
        print(f"generated {path.name}: {args.minutes:.0f} min, 48 kHz mono 16-bit "
              f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from stepedit_app.gui.app import make_app
    from stepedit_app.gui.main_window import MainWindow

    os.environ.setdefault("STEPEDIT_DATA_DIR", str(Path(tmp.name) / "data"))
    app = make_app([sys.argv[0]])
    settings = QSettings(str(Path(tmp.name) / "bench.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autosave_root=Path(tmp.name) / "autosave")
    win.ask_unsaved = lambda n: "discard"
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    base = rss_mb()

    def wait_until(cond, timeout_s):
        # A nested event loop polled by a timer: the window keeps running while we wait.
        end = time.perf_counter() + timeout_s
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(10)

        def check():
            if cond() or time.perf_counter() > end:
                poll.stop()
                loop.quit()

        poll.timeout.connect(check)
        poll.start()
        if not cond():
            loop.exec()
        poll.stop()

    # Stall meter: a 5 ms timer; the longest gap between its ticks is the longest stall.
    gaps: list[float] = []
    et = QElapsedTimer()
    et.start()
    last = [et.elapsed()]

    def tick():
        now = et.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    meter = QTimer()
    meter.setInterval(5)
    meter.timeout.connect(tick)

    def measure_stalls():
        gaps.clear()
        last[0] = et.elapsed()
        meter.start()

    def longest_stall() -> float:
        meter.stop()
        return max(gaps) if gaps else float("nan")

    spec_done: list[float] = []
    opened_at: list[float] = []
    win.analysis.spectrogram_done.connect(lambda: spec_done.append(time.perf_counter()))
    win.documents.opened.connect(lambda: opened_at.append(time.perf_counter()))
    t0 = time.perf_counter()
    measure_stalls()
    win.open_file(path)
    wait_until(lambda: bool(opened_at), 300)
    # First paint: the synchronous repaint of the views right after the clip is in.
    win.timeline.viewport().repaint()
    first_paint = time.perf_counter() - t0
    wait_until(lambda: bool(spec_done), 300)
    open_stall = longest_stall()
    spec_s = (spec_done[0] - t0) if spec_done else float("nan")
    print(f"open (read + hash + peaks on a worker): {opened_at[0] - t0:.2f} s; longest stall meanwhile "
          f"{open_stall:.0f} ms")
    print(f"time to first waveform paint: {first_paint:.2f} s")
    print(f"spectrogram fully filled (worker, progressive): {spec_s:.2f} s")

    # Pan and zoom: time of a few detail-view range changes (envelope from the pyramid + paint).
    d = win.state.clip.duration
    t = time.perf_counter()
    spans = [(0, d), (d / 2, d / 2 + 60), (d / 3, d / 3 + 5), (100, 100.5), (0, d)]
    for a, b in spans:
        win.timeline.zoom_to(a, b)
        win.timeline.viewport().repaint()
    per = (time.perf_counter() - t) / len(spans) * 1000
    print(f"zoom/pan step (range change + repaint): {per:.1f} ms")

    # Event-loop stall during a render of a 2 s region of the long file (takes autosaved).
    autosaves: list[float] = []
    win.documents.autosaved.connect(autosaves.append)
    st = win.state
    st.set_region_seconds(600.0, 602.0)
    win.controls.rows[("emotion", "happy")].slider.setValue(60)
    win.controls.iterations.setValue(3)
    done: list[int] = []
    win.renderer.finished.connect(done.append)
    measure_stalls()
    t = time.perf_counter()
    win.renderer.render()
    wait_until(lambda: bool(done) and len(autosaves) >= 1 and not win.documents.soon.isActive()
               and not (win.documents._auto and win.documents._auto.running), 600)
    render_s = time.perf_counter() - t
    stall = longest_stall()
    print(f"render 3 iterations of a 2 s region in the 60-min file: {render_s:.2f} s; "
          f"longest event-loop stall {stall:.0f} ms (target < 100 ms; includes {len(autosaves)} autosave(s))")
    if autosaves:
        print(f"autosave of a take (take arrives → project on disk, worker): "
              f"{min(autosaves) * 1000:.0f}–{max(autosaves) * 1000:.0f} ms")

    # A burst of autosaves: rename every take twice (each rename rewrites the autosave).
    before = len(autosaves)
    measure_stalls()
    for k in range(2):
        for take in st.takes:
            st.session.takes.rename(take, f"take {take.id} v{k}")
            app.processEvents()
    wait_until(lambda: not win.documents.soon.isActive() and not (win.documents._auto and win.documents._auto.running)
               and len(autosaves) > before, 60)
    stall = longest_stall()
    burst = autosaves[before:]
    print(f"autosave burst ({2 * len(st.takes)} renames → {len(burst)} coalesced write(s), "
          f"{(max(burst) if burst else float('nan')) * 1000:.0f} ms the longest): longest stall {stall:.0f} ms")

    # Loop audition: slider release → new take queued to swap in at the next loop pass.
    st.set_region_seconds(600.0, 602.0)
    win.controls.iterations.setValue(1)
    win.controls.auto_render.setChecked(True)
    st.set_loop(True)
    playing = win.playback.play()
    queued: list[float] = []
    player = win.playback.player
    orig = player.queue_take

    def queue(take, region, **kw):
        queued.append(time.perf_counter())
        return orig(take, region, **kw)

    player.queue_take = queue
    if not playing:
        print("loop audition: no audio device; measuring without playback")
    n_before = len(st.takes)
    t = time.perf_counter()
    row = win.controls.rows[("emotion", "happy")]
    row.slider.setSliderDown(True)
    row.slider.setValue(30)
    row.slider.setSliderDown(False)  # release: commits, debounced auto-render starts
    wait_until(lambda: bool(queued) or (not playing and len(st.takes) > n_before), 120)
    ready = ((queued[0] if queued else time.perf_counter()) - t) * 1000
    loop_s = 2.0
    print(f"slider release → change queued for the loop: {ready:.0f} ms "
          f"(heard at the next pass: + 0–{loop_s * 1000:.0f} ms for a {loop_s:.0f} s loop; "
          f"includes the {win.renderer.auto_timer.interval()} ms debounce)")
    win.playback.stop()
    peak = rss_mb()
    print(f"peak memory (max RSS): {peak:.0f} MB (window before opening: {base:.0f} MB)")
    win.close()
    QApplication.processEvents()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
