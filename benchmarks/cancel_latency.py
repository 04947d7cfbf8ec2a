"""How fast a cancelled render stops: median and worst latency on a 7 s and a 60 s clip.

A real render (``EditSession.render``, the path the window's worker runs: analysis, then
iterations of the closed loop) runs on a thread; the main thread calls ``CancelToken.cancel()``
at a random moment of it and measures the time until the render's generator has finished
(``RenderCancelled``).  Each trial uses a fresh session, so a cancel can land in the analysis
(pitch tracking, cue measurement) as well as in rendering and output measurement.  Moments are
drawn uniformly over the duration of an uncancelled render of the same request, measured first.

Clips: LJ Speech 22.05 kHz concatenated to 7 s and 60 s.  Target (issue 7): median <= 200 ms,
worst <= 500 ms on the 60 s clip.

Usage::

    .venv/bin/python benchmarks/cancel_latency.py [--trials 12] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import CancelToken  # noqa: E402
from stepedit_app.engines.controls import EditRequest  # noqa: E402
from stepedit_app.session.session import EditSession, RenderCancelled  # noqa: E402

REQUEST = EditRequest(emotions={"happy": 0.6}, styles={"older": 0.3}, iterations=3)


def clip_of(seconds: float) -> Clip:
    data = sorted((ROOT / "tests" / "data").glob("LJ*.wav"))
    shared = Path("/work/shared/data/speech/ljspeech")
    if shared.exists():
        data = sorted(shared.glob("*.wav"))
    parts, rate, total = [], None, 0
    while total < seconds * 22050:
        for p in data:
            x, rate = sf.read(str(p), dtype="float32")
            parts.append(x)
            total += len(x)
    x = np.concatenate(parts)[: int(seconds * rate)]
    return Clip(x[:, None], rate)


def run(clip: Clip, cancel_at: float | None) -> tuple[float, float, bool]:
    """(render seconds or cancel latency, moment, cancelled?)"""
    session = EditSession(clip)
    token = CancelToken()
    done = threading.Event()
    state = {"cancelled": False}

    def work():
        for ev in session.render(REQUEST, None, token):
            if isinstance(ev, RenderCancelled):
                state["cancelled"] = True
        done.set()

    t0 = time.perf_counter()
    th = threading.Thread(target=work, daemon=True)
    th.start()
    if cancel_at is None:
        done.wait()
        return time.perf_counter() - t0, 0.0, False
    if done.wait(cancel_at):
        return float("nan"), cancel_at, False  # finished before the cancel moment
    tc = time.perf_counter()
    token.cancel()
    done.wait()
    return time.perf_counter() - tc, cancel_at, state["cancelled"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"request: {REQUEST.summary()}, {REQUEST.iterations} iterations, whole clip")
    for seconds in (7.0, 60.0):
        clip = clip_of(seconds)
        full, _, _ = run(clip, None)
        lats = []
        for _ in range(args.trials):
            lat, _, cancelled = run(clip, float(rng.uniform(0.02, 0.95 * full)))
            if cancelled:
                lats.append(lat * 1000)
        lats.sort()
        print(f"{seconds:4.0f} s clip: uncancelled render {full:5.1f} s; cancel latency over {len(lats)} trials: "
              f"median {statistics.median(lats):5.0f} ms, worst {max(lats):5.0f} ms "
              f"(all: {', '.join(f'{v:.0f}' for v in lats)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
