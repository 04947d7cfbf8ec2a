"""Speed of the embedded ``prosody`` engine, on one core.

For 10 s of real speech (LJ Speech clips concatenated to exactly 10.0 s) at 22.05 kHz and at
48 kHz (resampled with ``scipy.signal.resample_poly``), prints:

- analysis real-time factor (RTF = seconds of compute / seconds of audio): ``engine.prepare``
  and, separately, the parts computed lazily on first need: WORLD analysis
  (``engine._world``: CheapTrick + D4C) and PSOLA pitch marks (``engine._marks``);
- per-edit cost of re-rendering a 5 s region after analysis, for a pitch/timing-only edit
  (PSOLA path) and a voice-quality edit (WORLD path): ``engine._render`` alone, and the full
  first iteration (render + ``measure_cues`` of the output), in ms, as RTF, and as a ratio
  to the bare method (one ``pyworld.synthesize`` of the same 5 s with unmodified parameters;
  one ``psola.synthesize`` pass with identity maps);
- the targets: 5 s re-rendered within 50 ms (pitch/timing only) and 150 ms (voice quality).

Every figure is the median of 5 runs after one warm-up, with BLAS/OpenMP pinned to one
thread.  ``--profile`` runs cProfile on one render of each path and prints the top 15
functions by cumulative time.

Usage::

    .venv/bin/python benchmarks/engine_speed.py [--runs 5] [--profile]
"""

from __future__ import annotations

import os

# One core: pin BLAS/OpenMP pools before numpy (or anything that loads it) is imported.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import functools  # noqa: E402
import glob  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyworld  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepedit_app.audio import psola  # noqa: E402
from stepedit_app.audio.analysis import FRAME_PERIOD_MS, measure_cues  # noqa: E402
from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import EditContext  # noqa: E402
from stepedit_app.engines.prosody.engine import Analysis, ProsodyEngine  # noqa: E402
from stepedit_app.engines.prosody.profiles import Params  # noqa: E402

LJ_DIRS = (Path("/work/shared/data/speech/ljspeech"), ROOT / "tests" / "data")
SOURCE_S = 10.0
REGION_S = 5.0
TARGET_MS = {"psola": 50.0, "world": 150.0}

#: The two edits timed: pitch/timing only (PSOLA) and the same plus voice quality (WORLD).
EDITS: dict[str, Params] = {
    # PSOLA serves pitch-down / slowing edits (Params.needs_vocoder: measured on DNSMOS)
    "psola": Params(f0_st=-2.0, range_log2=math.log2(0.8), tempo_log=math.log(1.15)),
    "world": Params(
        f0_st=3.0,
        range_log2=math.log2(1.3),
        tempo_log=math.log(0.9),
        formant_log2=math.log2(1.04),
        tilt_db=2.0,
        breath=0.15,
    ),
}
EDIT_LABEL = {
    "psola": "pitch/timing (f0 -2 st, range x0.8, tempo x1.15) -> PSOLA",
    "world": "+ voice quality (formant x1.04, tilt +2 dB, breath .15) -> WORLD",
}


def load_speech(seconds: float = SOURCE_S) -> tuple[np.ndarray, int]:
    """LJ Speech clips (sorted by name) concatenated and cut to exactly ``seconds``."""
    for d in LJ_DIRS:
        files = sorted(glob.glob(str(d / "LJ*.wav")))
        if files:
            break
    else:
        raise SystemExit("no LJ Speech clips found in " + ", ".join(map(str, LJ_DIRS)))
    parts, rate, total = [], None, 0
    while total < seconds * (rate or 22050):
        for f in files:
            x, r = sf.read(f, dtype="float64", always_2d=True)
            rate = rate or r
            parts.append(x.mean(axis=1))
            total += len(parts[-1])
            if total >= seconds * rate:
                break
    n = int(round(seconds * rate))
    return np.concatenate(parts)[:n], int(rate)


def timeit(fn: Callable[[], object], runs: int, setup: Callable[[], None] | None = None) -> float:
    """Median wall time (s) of ``runs`` calls after one warm-up; ``setup`` runs untimed before each."""
    times = []
    for i in range(runs + 1):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if i:
            times.append(dt)
    return statistics.median(times)


def bare_world(a: Analysis) -> None:
    sp, ap = a.world[0]
    pyworld.synthesize(np.ascontiguousarray(a.track.f0), sp, ap, a.rate, FRAME_PERIOD_MS)


def bare_psola(a: Analysis) -> None:
    n = a.frames
    f0 = a.track.f0
    fidx = np.clip(np.round(np.arange(n) / a.rate / (FRAME_PERIOD_MS / 1000)).astype(int), 0, len(f0) - 1)
    f0s = f0[fidx]
    period = np.where(f0s > 0, a.rate / np.maximum(f0s, 1e-9), 0.0)
    psola.synthesize(a.x, a.rate, a.marks, n, np.arange(n, dtype=float), period)


def bench_rate(x: np.ndarray, rate: int, runs: int) -> dict:
    eng = ProsodyEngine()
    clip = Clip(x.astype(np.float32), rate)
    dur = clip.duration
    res: dict = {"rate": rate, "duration_s": dur}

    # --- analysis of the whole 10 s ---
    res["prepare"] = timeit(lambda: eng.prepare(clip), runs)
    a_full: Analysis = eng.prepare(clip).data

    def reset_world() -> None:
        a_full.world = None

    def reset_marks() -> None:
        a_full.marks = None

    res["world"] = timeit(lambda: eng._world(a_full), runs, reset_world)
    res["marks"] = timeit(lambda: eng._marks(a_full), runs, reset_marks)

    # --- 5 s region (the middle of the 10 s), analysed once, then re-rendered ---
    start = int(round((dur - REGION_S) / 2 * rate))
    region = Clip(clip.samples[start : start + int(round(REGION_S * rate))], rate)
    a: Analysis = eng.prepare(region).data
    eng._world(a)
    eng._marks(a)
    res["bare_world"] = timeit(lambda: bare_world(a), runs)
    res["bare_psola"] = timeit(lambda: bare_psola(a), runs)
    for path, p in EDITS.items():
        assert p.needs_vocoder() == (path == "world"), path
        ctx = EditContext(1, 1)
        plan = eng.plan(a, p, ctx, 0)
        method = eng._render_world if path == "world" else eng._render_psola
        synth = functools.partial(method, a, plan)
        y = synth()
        res[f"{path}_plan"] = timeit(lambda p=p: eng.plan(a, p, EditContext(1, 1), 0), runs)
        res[f"{path}_synth"] = timeit(synth, runs)
        res[f"{path}_level"] = timeit(functools.partial(eng._level, a, plan, y), runs)
        res[f"{path}_render"] = timeit(lambda p=p: eng._render(a, p, EditContext(1, 1), 0), runs)
        res[f"{path}_iter"] = timeit(
            lambda p=p: measure_cues(eng._render(a, p, EditContext(1, 1), 0), track=None), runs
        )
    return res


def print_table(results: list[dict]) -> None:
    def row(label: str, cells: list[str]) -> None:
        print(f"  {label:<52}" + "".join(f"{c:>22}" for c in cells))

    hdr = [f"{r['rate'] / 1000:g} kHz" for r in results]
    print(f"\nAnalysis of {SOURCE_S:g} s (RTF = compute time / audio time; ms in brackets)")
    row("", hdr)
    for key, label in (
        ("prepare", "engine.prepare (F0 track, activity, cues)"),
        ("world", "lazy: WORLD analysis (_world: CheapTrick+D4C)"),
        ("marks", "lazy: PSOLA pitch marks (_marks)"),
    ):
        row(label, [f"{r[key] / r['duration_s']:.3f} ({r[key] * 1e3:.0f} ms)" for r in results])
    row(
        "total before a WORLD edit",
        [f"{(r['prepare'] + r['world']) / r['duration_s']:.3f}" for r in results],
    )

    print(f"\nRe-render of a {REGION_S:g} s region after analysis (ms; RTF; x bare method)")
    row("", hdr)
    row("bare pyworld.synthesize (unmodified)", [f"{r['bare_world'] * 1e3:.1f} ms" for r in results])
    row("bare psola.synthesize (identity maps)", [f"{r['bare_psola'] * 1e3:.1f} ms" for r in results])
    for path in EDITS:
        bare = "bare_world" if path == "world" else "bare_psola"
        print(f"  {EDIT_LABEL[path]}")
        for key, label in (
            ("plan", "  plan"),
            ("synth", "  synthesis (_render_psola / _render_world)"),
            ("level", "  level match + limiter (_level)"),
        ):
            row(label, [f"{r[f'{path}_{key}'] * 1e3:.1f} ms" for r in results])
        row(
            "  _render (one render)",
            [
                f"{r[f'{path}_render'] * 1e3:.0f} ms {r[f'{path}_render'] / REGION_S:.3f} x{r[f'{path}_render'] / r[bare]:.1f}"
                for r in results
            ],
        )
        row(
            "  iteration = _render + measure_cues",
            [
                f"{r[f'{path}_iter'] * 1e3:.0f} ms {r[f'{path}_iter'] / REGION_S:.3f} x{r[f'{path}_iter'] / r[bare]:.1f}"
                for r in results
            ],
        )
        t = TARGET_MS[path]
        row(
            f"  target _render <= {t:g} ms",
            [
                "PASS" if r[f"{path}_render"] * 1e3 <= t else f"FAIL ({r[f'{path}_render'] * 1e3 / t:.1f}x)"
                for r in results
            ],
        )
    print(
        "\n  Note: iteration 1 = one _render + one measure_cues; each later iteration of the closed loop"
        "\n  runs up to 3 of them (one per correction attempt)."
    )


class _VisiblePyworld:
    """Stands in for the ``pyworld`` module inside the engine while profiling: its compiled
    functions do not show up in cProfile, so each is wrapped in a Python function that does."""

    def __getattr__(self, name: str):
        fn = getattr(pyworld, name)

        def wrapper(*args, **kw):
            return fn(*args, **kw)

        label = f"pyworld_{name}"
        wrapper.__code__ = wrapper.__code__.replace(co_name=label, co_qualname=label)
        return wrapper


def profile(x: np.ndarray, rate: int, top: int = 15) -> None:
    import stepedit_app.engines.prosody.engine as engine_mod

    engine_mod.pyworld = _VisiblePyworld()
    eng = ProsodyEngine()
    clip = Clip(x.astype(np.float32), rate)
    start = int(round((clip.duration - REGION_S) / 2 * rate))
    region = Clip(clip.samples[start : start + int(round(REGION_S * rate))], rate)
    a: Analysis = eng.prepare(region).data
    eng._world(a)
    eng._marks(a)
    for path, p in EDITS.items():
        eng._render(a, p, EditContext(1, 1), 0)  # warm-up
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(3):
            eng._render(a, p, EditContext(1, 1), 0)
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(top)
        print(
            f"\n=== cProfile: 3 x _render, {path.upper()} path, {REGION_S:g} s at {rate} Hz ({EDIT_LABEL[path]}) ==="
        )
        print(_trim(s.getvalue()))
    # the other lazy / per-iteration costs, for context
    for label, fn in (
        (
            "measure_cues on the 5 s output",
            lambda: measure_cues(eng._render(a, EDITS["psola"], EditContext(1, 1), 0)),
        ),
        ("engine.prepare of the 5 s region", lambda: eng.prepare(region)),
    ):
        fn()
        pr = cProfile.Profile()
        pr.enable()
        fn()
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(top)
        print(f"\n=== cProfile: {label} ===")
        print(_trim(s.getvalue()))


def _trim(text: str) -> str:
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith("ncalls"):
            return "\n".join(lines[i - 2 : i] + lines[i:]).replace(str(ROOT) + "/", "")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure (median; after 1 warm-up)")
    ap.add_argument("--profile", action="store_true", help="cProfile one render of each path instead")
    ap.add_argument("--rate", type=int, default=None, help="only this rate (22050 or 48000)")
    args = ap.parse_args(argv)

    x, rate = load_speech()
    signals = {
        rate: x,
        48000: resample_poly(x, 48000 // math.gcd(48000, rate), rate // math.gcd(48000, rate)),
    }
    if args.rate:
        signals = {args.rate: signals[args.rate]}
    print(
        f"StepEdit prosody engine speed: {SOURCE_S:g} s of LJ Speech, 1 thread "
        f"(OMP/MKL/OPENBLAS_NUM_THREADS=1), median of {args.runs} after a warm-up; "
        f"{os.cpu_count()} CPUs visible, numpy {np.__version__}, pyworld {getattr(pyworld, '__version__', '?')}"
    )
    if args.profile:
        for r, sig in signals.items():
            profile(sig, r)
        return 0
    results = [bench_rate(sig, r, args.runs) for r, sig in signals.items()]
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
