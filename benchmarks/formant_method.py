"""How the prosody engine's PSOLA path should move formants, measured three ways: the source
resampled by the warp before PSOLA (``FORMANT_METHOD = "resample"``), the envelope-ratio
filter on the PSOLA output (``"filter"``), and the default ``"split"``: resampling for the
part of the warp that goes the way of the pitch shift, up to it, the filter for the rest
(``ProsodyEngine.warp_split``).

For every clip x formant edit (the warps of happy, angry, deeply and child-like settings,
alone and with the pitch shifts they come with), it renders the edit both ways (one
iteration, whole clip) and prints, per method, the DistillMOS drop (input score minus output
score) and Praat's HNR change; then the means over all cells and how many cells lose more
than 0.3.  DistillMOS on one render moves by +-0.2 with a tiny change of the edit (+3.5 st
with x1.040 vs x1.0400: 0.35 vs 0.55 on the CMU voice), so only the means say much.

Usage::

    .venv/bin/python benchmarks/formant_method.py [--clips A,B] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from robustness import corpus, judges  # noqa: E402

from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import EditContext  # noqa: E402
from stepedit_app.engines.prosody.engine import ProsodyEngine  # noqa: E402
from stepedit_app.engines.prosody.profiles import Params  # noqa: E402

CLIPS = [
    corpus.MALE, corpus.FEMALE, corpus.CHILD,
    "vctk_p240_00000.mp3", "cv_de_17672459.wav", "librispeech_3436-172162-0000_0-9.6s.ogg",
    "cv_ja_38843402_16k.wav", "fleurs_en_003.ogg",
]
#: (label, f0 shift in semitones, formant warp factor)
EDITS = [
    ("happy", 3.5, 1.04), ("angry", 2.0, 1.03), ("smile", 0.0, 1.04), ("x1.08 +2st", 2.0, 1.08),
    ("deeply", -2.5, 0.88), ("x0.88", 0.0, 0.88), ("x1.1 +3st", 3.0, 1.10),
]
METHODS = ("filter", "resample", "split")


def render(x: np.ndarray, rate: int, p: Params, method: str) -> np.ndarray:
    eng = ProsodyEngine()
    prep = eng.prepare(Clip(x.astype(np.float32)[:, None], rate))
    old = ProsodyEngine.FORMANT_METHOD
    ProsodyEngine.FORMANT_METHOD = method
    try:
        return eng._render(prep.data, p, EditContext(iteration=1, total=1), 0).samples[:, 0].astype(float)
    finally:
        ProsodyEngine.FORMANT_METHOD = old


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", help="comma-separated corpus clip names (default: 8 clips)")
    ap.add_argument("--quick", action="store_true", help="3 clips")
    args = ap.parse_args()
    if not judges.distillmos_available():
        print("DistillMOS is not installed (see benchmarks/quality.py)", file=sys.stderr)
        return 2
    clips = args.clips.split(",") if args.clips else CLIPS[:3] if args.quick else CLIPS
    drops: dict[str, list[float]] = {m: [] for m in METHODS}
    hnr: dict[str, list[float]] = {m: [] for m in METHODS}
    t0 = time.perf_counter()
    print(f"{'clip':24s} {'edit':11s} " + "  ".join(f"{m + ' drop/HNR':>18s}" for m in METHODS))
    for clip in clips:
        x, rate = corpus.load(clip)
        base = judges.distillmos_score(x, rate)
        base_hnr = judges.praat_cues(x, rate)["hnr"]
        for label, st, warp in EDITS:
            p = Params(f0_st=st, formant_log2=math.log2(warp))
            cells = []
            for m in METHODS:
                y = render(x, rate, p, m)
                d = base - judges.distillmos_score(y, rate)
                h = judges.praat_cues(y, rate)["hnr"] - base_hnr
                drops[m].append(d)
                hnr[m].append(h)
                cells.append(f"{d:+8.2f} /{h:+6.2f} dB")
            print(f"{clip[:24]:24s} {label:11s} " + "  ".join(f"{c:>18s}" for c in cells), flush=True)
    print()
    for m in METHODS:
        d = np.asarray(drops[m])
        print(f"{m:9s} DistillMOS drop mean {d.mean():+.3f}, median {np.median(d):+.2f}, worst {d.max():+.2f}, "
              f"cells over 0.3: {int(np.sum(d > 0.3))}/{len(d)}; HNR change mean {np.mean(hnr[m]):+.2f} dB")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
