"""Do edited regions join the audio around them in phase?

The session splices an edited region back with 10 ms crossfades at both boundaries
(``audio.clip.splice``), and the engine ramps its change to nothing at boundaries that join
untouched audio, so near a boundary the edit should *be* the original, sample for sample.  If
PSOLA places the grains there a fraction of a period off, the crossfade blends two copies of a
vowel out of phase: a comb-filtered dip in the middle of a vowel.

This picks regions whose start and end both fall in voiced speech (Praat's pitch track; fixed
seed), edits each with happy 0.5 through the session, splices it, and prints for each boundary
the correlation of the spliced result with the original over 20 ms (the crossfade and 10 ms
inside it: 1.0 = in phase), the correlation of the two signals the crossfade blends (the
edit's first / last 10 ms against the original's: what cancels if they are out of phase),
and the level of the start's crossfade against the original's (dB).

Praat is GPL: a benchmark tool only, never imported by the package.

Usage::

    .venv/bin/python benchmarks/boundary_phase.py [--clips A,B] [--per-clip N]
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

from stepedit_app.audio.clip import Clip, Region  # noqa: E402
from stepedit_app.engines.controls import EditRequest  # noqa: E402
from stepedit_app.session.session import EditSession  # noqa: E402

CLIPS = [
    corpus.MALE, corpus.FEMALE, "vctk_p240_00000.mp3", "cv_de_17672459.wav", "fleurs_fr_004.ogg",
    "librispeech_3436-172162-0000_0-9.6s.ogg", "ami_ES2011a_Headset-0_40s-46s.wav", "cv_ja_38853932_16k.wav",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", help="comma-separated corpus clip names (default: 8 clips)")
    ap.add_argument("--per-clip", type=int, default=8, help="regions tried per clip (default 8)")
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    rows = []
    t0 = time.perf_counter()
    print(f"{'clip':26s} {'region (s)':>12s}  {'start corr':>10s} {'blend':>6s} {'fade dB':>8s}  {'end corr':>8s} {'blend':>6s}")
    for name in args.clips.split(",") if args.clips else CLIPS:
        x, rate = corpus.load(name)
        x = x.mean(axis=1) if x.ndim > 1 else x
        f0, t = judges.praat_pitch(x, rate, 0.01)
        vt = t[f0 > 0]
        clip = Clip(x[:, None].astype(np.float32), rate)
        session = EditSession(clip)
        for _ in range(args.per_clip):
            cand = vt[(vt > 0.2) & (vt < t[-1] - 1.2)]
            if not len(cand):
                break
            a = float(rng.choice(cand))
            b = a + float(rng.uniform(0.6, 1.0))
            if not np.any(np.abs(vt - b) < 0.006):
                continue  # the end is not in voiced speech
            r = Region(int(a * rate), int(b * rate))
            take = session.run(EditRequest(emotions={"happy": 0.5}), region=r)[0]
            j = judges.boundary_match(clip, x, r, take.segment)
            c_start, fade, c_end, b_start, b_end = (j[k] for k in ("start", "fade_db", "end", "blend_start", "blend_end"))
            rows.append((c_start, fade, c_end, b_start, b_end))
            print(f"{name[:26]:26s} {a:5.2f}-{b:5.2f}  {c_start:+10.3f} {b_start:+6.3f} {fade:+8.1f}  {c_end:+8.3f} {b_end:+6.3f}", flush=True)
    if not rows:
        print("no region found", file=sys.stderr)
        return 1
    v = np.array(rows)
    print(f"\n{len(v)} regions, {time.perf_counter() - t0:.0f} s")
    print(f"start: correlation mean {v[:, 0].mean():.3f}, min {v[:, 0].min():+.3f}, under 0.9: {int((v[:, 0] < 0.9).sum())}; "
          f"crossfade level min {v[:, 1].min():+.1f} dB; blended pair mean {v[:, 3].mean():.3f}, min {v[:, 3].min():+.3f}")
    print(f"end:   correlation mean {v[:, 2].mean():.3f}, min {v[:, 2].min():+.3f}, under 0.9: {int((v[:, 2] < 0.9).sum())}; "
          f"blended pair mean {v[:, 4].mean():.3f}, min {v[:, 4].min():+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
