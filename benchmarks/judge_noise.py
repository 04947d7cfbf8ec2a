"""How much the naturalness judge moves when the edit hardly does: DistillMOS drop of the same
control at intensities 0.49 / 0.50 / 0.51 (an inaudible 2 % of the slider), per clip.

``quality.py --check`` fails a cell when one render's drop exceeds 0.3 at intensity 0.5.
This prints, per clip and control, the three drops, their spread (max - min), and whether
the 0.3 criterion gives different answers for the three renders (a "flip"); then the median
and largest spread and the number of flips.  When the spread is as large as the threshold,
a single cell says little, and the grid's DistillMOS failure count carries that noise.

Usage::

    .venv/bin/python benchmarks/judge_noise.py [--clips A,B] [--controls happy,sad]
"""

from __future__ import annotations

import argparse
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
from stepedit_app.engines.controls import EditRequest  # noqa: E402
from stepedit_app.engines.prosody import profiles  # noqa: E402
from stepedit_app.engines.prosody.engine import ProsodyEngine  # noqa: E402

CLIPS = [
    corpus.MALE, corpus.FEMALE, corpus.CHILD, "vctk_p240_00000.mp3", "cv_de_17672459.wav",
    "librispeech_3436-172162-0000_0-9.6s.ogg", "cv_ja_38843402_16k.wav", "fleurs_en_007.ogg",
]
CONTROLS = ["happy", "sad", "angry", "older"]
INTENSITIES = (0.49, 0.50, 0.51)
LIMIT = 0.3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", help="comma-separated corpus clip names (default: 8 clips)")
    ap.add_argument("--controls", help="comma-separated controls (default: happy,sad,angry,older)")
    args = ap.parse_args()
    if not judges.distillmos_available():
        print("DistillMOS is not installed (see benchmarks/quality.py)", file=sys.stderr)
        return 2
    clips = args.clips.split(",") if args.clips else CLIPS
    controls = args.controls.split(",") if args.controls else CONTROLS
    eng = ProsodyEngine()
    spreads, flips, cells = [], 0, 0
    t0 = time.perf_counter()
    print(f"{'clip':26s} {'control':9s} " + " ".join(f"{v:>6.2f}" for v in INTENSITIES) + "  spread  flip")
    for clip in clips:
        x, rate = corpus.load(clip)
        base = judges.distillmos_score(x, rate)
        prep = eng.prepare(Clip(x.astype(np.float32)[:, None], rate))
        for ctl in controls:
            group = next(g for g, ps in profiles.PROFILES.items() if ctl in ps)
            drops = []
            for v in INTENSITIES:
                req = EditRequest(**{"emotions" if group == "emotion" else "styles": {ctl: v}}, iterations=1)
                gen = eng.edit(prep, req, EditContext(iteration=1, total=1))  # the engine's own path
                try:
                    while True:
                        next(gen)
                except StopIteration as done:
                    y = done.value.samples[:, 0]
                drops.append(base - judges.distillmos_score(y, rate))
            spread = max(drops) - min(drops)
            flip = len({d > LIMIT for d in drops}) > 1
            spreads.append(spread)
            flips += flip
            cells += 1
            print(f"{clip[:26]:26s} {ctl:9s} " + " ".join(f"{d:+6.2f}" for d in drops)
                  + f"  {spread:6.2f}  {'yes' if flip else ''}", flush=True)
    s = np.asarray(spreads)
    print(f"\nspread of the drop over intensity 0.49-0.51: median {np.median(s):.2f}, mean {s.mean():.2f}, "
          f"largest {s.max():.2f}; the {LIMIT} criterion flips on {flips} of {cells} clip x control pairs "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
