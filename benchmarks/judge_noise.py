"""How much the naturalness judge moves when the edit hardly does: DistillMOS drop of the same
control at intensities 0.49 / 0.50 / 0.51 (an inaudible 2 % of the slider), per clip.

``quality.py --check`` fails a cell when one render's drop exceeds 0.3 at intensity 0.5.
This prints, per clip and control, the three drops, their spread (max - min), and whether
the 0.3 criterion gives different answers for the three renders (a "flip"); then the median
and largest spread and the number of flips.  When the spread is as large as the threshold,
a single cell says little, and the grid's DistillMOS failure count carries that noise.

Both judges are shown: DistillMOS as it scores a file (one framing of its 10 ms STFT), and the
mean over the four framings of ``judges.MOS_OFFSETS`` that ``quality.py`` checks.  A last
table scores the *same* audio delayed by 0-7.5 ms (no edit at all) for the spread of one
framing alone.

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
    spreads = {"one": [], "avg": []}
    flips = {"one": 0, "avg": 0}
    cells = 0
    shift_spread = []
    t0 = time.perf_counter()
    print(f"{'clip':26s} {'control':9s} {'judge':5s} " + " ".join(f"{v:>6.2f}" for v in INTENSITIES)
          + "  spread  flip")
    for clip in clips:
        x, rate = corpus.load(clip)
        b = judges.distillmos_scores(x, rate)
        base = {"one": b[0], "avg": b.mean()}
        shift_spread.append(b.max() - b.min())
        prep = eng.prepare(Clip(x.astype(np.float32)[:, None], rate))
        for ctl in controls:
            group = next(g for g, ps in profiles.PROFILES.items() if ctl in ps)
            drops = {"one": [], "avg": []}
            for v in INTENSITIES:
                req = EditRequest(**{"emotions" if group == "emotion" else "styles": {ctl: v}}, iterations=1)
                gen = eng.edit(prep, req, EditContext(iteration=1, total=1))  # the engine's own path
                try:
                    while True:
                        next(gen)
                except StopIteration as done:
                    y = done.value.samples[:, 0]
                s = judges.distillmos_scores(y, rate)
                shift_spread.append(s.max() - s.min())
                drops["one"].append(base["one"] - s[0])
                drops["avg"].append(base["avg"] - s.mean())
            cells += 1
            for j, dd in drops.items():
                spread = max(dd) - min(dd)
                flip = len({d > LIMIT for d in dd}) > 1
                spreads[j].append(spread)
                flips[j] += flip
                print(f"{clip[:26]:26s} {ctl:9s} {j:5s} " + " ".join(f"{d:+6.2f}" for d in dd)
                      + f"  {spread:6.2f}  {'yes' if flip else ''}", flush=True)
    print(f"\nspread of the drop over intensity 0.49-0.51 ({cells} clip x control pairs, "
          f"{time.perf_counter() - t0:.0f} s):")
    for j, label in (("one", "one framing"), ("avg", f"mean of {len(judges.MOS_OFFSETS)} framings")):
        s = np.asarray(spreads[j])
        print(f"  {label:22s} median {np.median(s):.2f}, mean {s.mean():.2f}, largest {s.max():.2f}; "
              f"the {LIMIT} criterion flips on {flips[j]} pairs")
    sh = np.asarray(shift_spread)
    print(f"the same audio delayed by {', '.join(f'{o / 16:g}' for o in judges.MOS_OFFSETS)} ms, one framing "
          f"each ({len(sh)} files): score spread median {np.median(sh):.2f}, largest {sh.max():.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
