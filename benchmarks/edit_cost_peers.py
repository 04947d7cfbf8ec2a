"""What one prosodic change costs in DistillMOS, done by our PSOLA and by Praat's, side by side.

``quality.py`` judges whole emotion recipes; its remaining DistillMOS failures are at full
intensity, where a recipe moves pitch, range and timing together.  This takes the recipe
apart: each single change below, on the same clip, rendered by the engine (``Params`` with
that one field; the engine's own analysis and PSOLA, no closed loop) and by Praat's
Manipulation (its pitch tier or duration tier changed the same way, "Get resynthesis
(overlap-add)").  Where Praat's drop is as large as ours, the cost is the judge's view of the
change itself (a flatter or slower voice scores lower), not damage done by the rendering.

Changes: pitch +-2 st; speech duration x1.25 / x0.8 (Praat: a constant duration tier, pauses
included; ours scales speech and pauses alike here); F0 range x0.55 / x1.45 around the
median, in semitones (Praat: a pitch-tier formula, ``median * (f / median)^k``).

Praat's resynthesis of a duration change is not repeatable: two calls on the same input
differ (its overlap-add draws grain positions at random in unvoiced stretches), so its
duration cells move by up to ~0.2 between runs; ours and Praat's pitch and range cells repeat
exactly.

Prints per clip the drop of each (ours / Praat, mean of ``judges.MOS_OFFSETS`` framings),
then the means over clips.  Praat is GPL: a benchmark tool only, never imported by the package.

Usage::

    .venv/bin/python benchmarks/edit_cost_peers.py [--clips A,B]
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
from quality import praat_psola  # noqa: E402  (benchmarks/, the script's own folder)
from robustness import corpus, judges  # noqa: E402

from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.base import EditContext  # noqa: E402
from stepedit_app.engines.prosody.engine import ProsodyEngine  # noqa: E402
from stepedit_app.engines.prosody.profiles import Params  # noqa: E402

CLIPS = [
    corpus.MALE, corpus.FEMALE, corpus.CHILD, "cv_ja_38853932_16k.wav", "ami_ES2011a_Headset-0_40s-46s.wav",
    "librispeech_3436-172162-0000_0-9.6s.ogg", "fleurs_fr_004.ogg", "vctk_p240_00000.mp3",
]
#: (label, our Params, Praat's change: semitone shift, range exponent, duration factor; see
#: ``quality.praat_psola``)
EDITS = [
    ("+2 st", Params(f0_st=2.0), (2.0, 1.0, 1.0)),
    ("-2 st", Params(f0_st=-2.0), (-2.0, 1.0, 1.0)),
    ("slower x1.25", Params(tempo_log=math.log(1.25)), (0.0, 1.0, 1.25)),
    ("faster x0.8", Params(tempo_log=math.log(0.8)), (0.0, 1.0, 0.8)),
    ("range x0.55", Params(range_log2=math.log2(0.55)), (0.0, 0.55, 1.0)),
    ("range x1.45", Params(range_log2=math.log2(1.45)), (0.0, 1.45, 1.0)),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", help="comma-separated corpus clip names (default: 8 clips)")
    args = ap.parse_args()
    if not judges.distillmos_available():
        print("DistillMOS is not installed (see benchmarks/quality.py)", file=sys.stderr)
        return 2
    clips = args.clips.split(",") if args.clips else CLIPS
    eng = ProsodyEngine()
    drops: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in EDITS}
    t0 = time.perf_counter()
    print(f"{'clip':26s} {'MOS':>5s}  " + "  ".join(f"{label:>13s}" for label, _, _ in EDITS))
    print(f"{'':26s} {'':>5s}  " + "  ".join(f"{'ours / Praat':>13s}" for _ in EDITS))
    for clip in clips:
        x, rate = corpus.load(clip)
        base = float(np.mean(judges.distillmos_scores(x, rate)))
        a = eng.prepare(Clip(x.astype(np.float32)[:, None], rate)).data
        cells = []
        for label, params, praat in EDITS:
            ours = eng._render(a, params, EditContext(1, 1), 0).samples.astype(np.float64).mean(axis=1)
            d_ours = base - float(np.mean(judges.distillmos_scores(ours, rate)))
            d_praat = base - float(np.mean(judges.distillmos_scores(praat_psola(x, rate, *praat), rate)))
            drops[label].append((d_ours, d_praat))
            cells.append(f"{d_ours:+.2f} / {d_praat:+.2f}")
        print(f"{clip[:26]:26s} {base:5.2f}  " + "  ".join(f"{c:>13s}" for c in cells), flush=True)
    print(f"{'mean':26s} {'':>5s}  " + "  ".join(
        f"{np.mean([o for o, _ in drops[label]]):+.2f} / {np.mean([p for _, p in drops[label]]):+.2f}" for label, _, _ in EDITS))
    print(f"{'worst':26s} {'':>5s}  " + "  ".join(
        f"{max(o for o, _ in drops[label]):+.2f} / {max(p for _, p in drops[label]):+.2f}" for label, _, _ in EDITS))
    print(f"\n{len(clips)} clips, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
