"""Speed of the embedded ``prosody`` engine on one core, side by side with Praat.

Source: LJ Speech clips concatenated to exactly 10.0 s (22.05 kHz) and the same resampled to
48 kHz and 16 kHz.  Prints, each figure the median of ``--runs`` runs after one warm-up, with
BLAS/OpenMP and onnxruntime pinned to one thread:

- **pitch tracker** real-time factor (``track_pitch``: SwiftF0 candidates + our voicing,
  measurement and permissive modes) and Praat's ``To Pitch (ac)`` on the same audio;
- ``engine.prepare`` (pitch, activity, the original cue set) as RTF;
- **re-render of a 5 s region** once analysed (``engine._render``), per edit:
  pitch/timing (F0 -2 st, range x0.8, tempo x1.15) and voice quality (F0 +3 st, range
  x1.3, tempo x0.9, formants x1.04, tilt +2 dB, breath 0.15), by the engine's method
  (PSOLA + time-varying filter) and by WORLD (kept for comparison), against Praat's PSOLA
  resynthesis (Manipulation, overlap-add, F0 +2 st) of the same 5 s;
- targets (issue 6): pitch/timing 50 ms at 48 kHz and within 2x Praat's PSOLA; voice quality
  150 ms at 48 kHz.

Usage::

    .venv/bin/python benchmarks/engine_speed.py [--runs 5]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepedit_app.audio.analysis import track_pitch  # noqa: E402
from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import EditContext  # noqa: E402
from stepedit_app.engines.prosody.engine import ProsodyEngine  # noqa: E402
from stepedit_app.engines.prosody.profiles import Params  # noqa: E402

EDITS = {
    "pitch/timing": Params(f0_st=-2.0, range_log2=math.log2(0.8), tempo_log=math.log(1.15)),
    "voice quality": Params(f0_st=3.0, range_log2=math.log2(1.3), tempo_log=math.log(0.9),
                            formant_log2=math.log2(1.04), tilt_db=2.0, breath=0.15),
}
TARGET_48K_MS = {"pitch/timing": 50.0, "voice quality": 150.0}


def source(rate: int) -> np.ndarray:
    dirs = [Path("/work/shared/data/speech/ljspeech"), ROOT / "tests" / "data"]
    files = next(sorted(d.glob("LJ*.wav")) for d in dirs if d.exists() and list(d.glob("LJ*.wav")))
    parts, n = [], 0
    while n < 10 * 22050:
        for f in files:
            x, _ = sf.read(str(f), dtype="float64")
            parts.append(x)
            n += len(x)
    x = np.concatenate(parts)[: 10 * 22050]
    return x if rate == 22050 else resample_poly(x, rate // math.gcd(rate, 22050), 22050 // math.gcd(rate, 22050))


def timed(fn, runs: int) -> float:
    fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def praat_pitch(x, rate):
    import parselmouth

    return parselmouth.Sound(x, rate).to_pitch_ac(time_step=0.005, pitch_floor=60, pitch_ceiling=600)


def praat_psola(x, rate):
    import parselmouth
    from parselmouth.praat import call

    s = parselmouth.Sound(x, rate)
    m = call(s, "To Manipulation", 0.01, 60, 600)
    tier = call(m, "Extract pitch tier")
    call(tier, "Shift frequencies", s.xmin, s.xmax, 2.0, "semitones")
    call([tier, m], "Replace pitch tier")
    return call(m, "Get resynthesis (overlap-add)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from stepedit_app.audio import pitch as _p

    _p._swift()  # load the model once (not part of any figure)
    print("## Pitch tracker, 10 s of speech (RTF = compute s / audio s; one core)")
    for rate in (16000, 22050, 48000):
        x = source(rate)
        a = timed(lambda x=x, rate=rate: track_pitch(x, rate), args.runs)
        b = timed(lambda x=x, rate=rate: track_pitch(x, rate, permissive=True), args.runs)
        c = timed(lambda x=x, rate=rate: praat_pitch(x, rate), args.runs)
        print(f"{rate:6d} Hz  track_pitch RTF {a / 10:.4f} ({1 / (a / 10):5.0f}x real time), permissive {b / 10:.4f};"
              f"  Praat To Pitch (ac) RTF {c / 10:.4f}")
    print("\n## engine.prepare on 10 s")
    for rate in (22050, 48000):
        x = source(rate)
        clip = Clip(x[:, None].astype(np.float32), rate)
        t = timed(lambda clip=clip: ProsodyEngine().prepare(clip), max(1, args.runs // 2))
        # the same with 50 Hz mains hum (8 harmonics) 20 dB under the speech: the hum is found,
        # fitted and taken out of the voice (audio/hum.py) before editing
        tt = np.arange(len(x)) / rate
        hum = sum(np.sin(2 * np.pi * 50.0 * k * tt + 0.7 * k) / k for k in range(1, 9))
        hum *= math.sqrt(np.mean(x**2) / np.mean(hum**2)) / 10
        hclip = Clip((x + hum)[:, None].astype(np.float32), rate)
        th = timed(lambda hclip=hclip: ProsodyEngine().prepare(hclip), max(1, args.runs // 2))
        # ... of which the voice tracked again once the hum is out (ProsodyEngine._retrack_without_hum)
        from stepedit_app.engines.prosody import engine as _engine

        _engine.RETRACK_WITHOUT_HUM = False
        th1 = timed(lambda hclip=hclip: ProsodyEngine().prepare(hclip), max(1, args.runs // 2))
        _engine.RETRACK_WITHOUT_HUM = True
        print(f"{rate:6d} Hz  RTF {t / 10:.3f} ({t * 1000:.0f} ms); with mains hum RTF {th / 10:.3f} ({th * 1000:.0f} ms,"
              f" {th1 * 1000:.0f} ms without tracking the voice again)")
    print("\n## Re-render of a 5 s region, analysed once (ms, median)")
    for rate in (22050, 48000):
        x = source(rate)[int(2.5 * rate) : int(7.5 * rate)]
        clip = Clip(x[:, None].astype(np.float32), rate)
        eng = ProsodyEngine()
        a = eng.prepare(clip).data
        praat = timed(lambda x=x, rate=rate: praat_psola(x, rate), args.runs) * 1000
        for label, p in EDITS.items():
            eng.METHOD = "auto"
            ours = timed(lambda p=p, eng=eng, a=a: eng._render(a, p, EditContext(1, 1), 0), args.runs) * 1000
            eng.METHOD = "world"
            eng._render(a, p, EditContext(1, 1), 0)  # WORLD analysis once, outside the figure
            world = timed(lambda p=p, eng=eng, a=a: eng._render(a, p, EditContext(1, 1), 0), args.runs) * 1000
            eng.METHOD = "auto"
            line = (f"{rate:6d} Hz  {label:14s} ours ({eng.method_for(p, rate)}) {ours:6.1f}  WORLD {world:6.1f}"
                    f"  Praat PSOLA {praat:5.1f}  ours/Praat x{ours / praat:.1f}")
            if rate == 48000:
                tgt = TARGET_48K_MS[label]
                line += f"  target {tgt:.0f} ms: {'PASS' if ours <= tgt else 'FAIL'}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
