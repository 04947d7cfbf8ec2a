"""The quality grid's DistillMOS failures judged again: on five renders an inaudible slider move
apart, and against an engine that handles the added noise perfectly.

``quality.py --check`` fails a cell on one render's DistillMOS drop.  ``judge_noise.py`` showed
that the drop moves by about as much as the limit when the slider moves by 1 %.  This takes the
cells that failed in a ``quality.py --json`` file and, for each one, prints:

- the drop at intensity v - 0.02, v - 0.01, v, v + 0.01, v + 0.02 (at 1.0, the slider's end:
  0.96 ... 1.0; whole clip, one iteration, through ``EditSession`` as in ``quality.py``;
  DistillMOS averaged over four framings) and their median, and whether the cell still fails
  on the median;
- for the conditions that *add* a signal to a studio clip (white noise, babble, mains hum: the
  input is exactly clean + noise), an **oracle**: the clean recording edited by the engine at
  v, plus fresh noise of the same kind and level, judged against the noisy input.  A perfect
  noise handling (the voice edited as if recorded clean, the noise left as it was) scores
  this; the engine's own handling cannot be blamed for the part of the drop the oracle shows
  too.  The oracle still contains the engine's own edit of the clean voice.

The summary counts the failures that remain on the median, and the additive-noise failures
whose oracle fails too.

Usage::

    .venv/bin/python benchmarks/grid_rejudge.py GRID.json [GRID2.json ...] [--part K/N]

``--part K/N`` takes every N-th failing cell from the K-th (0-based), for N processes side by
side; about 10 s per cell on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import quality  # noqa: E402
from robustness import corpus, judges  # noqa: E402

from stepedit_app.audio.clip import Clip  # noqa: E402
from stepedit_app.engines.controls import EditRequest  # noqa: E402
from stepedit_app.engines.prosody import profiles  # noqa: E402
from stepedit_app.session.session import EditSession  # noqa: E402

OFFSETS = (-0.02, -0.01, 0.0, 0.01, 0.02)


def failing_cells(results: list[dict]) -> list[tuple[str, str, str, float, float, float]]:
    """(clip, condition, control, intensity, the grid's drop, the limit) of every DistillMOS
    failure of ``quality.py --check``."""
    return [(res["clip"], res["condition"], *cell) for res in results for cell in quality.mos_failing_cells(res)]


def _noise(kind: str, n: int, rate: int, name: str, cond: str) -> np.ndarray:
    """Fresh noise of ``cond``'s kind, ``n`` samples, before scaling."""
    seed = sum(map(ord, name + cond)) + 1
    rng = np.random.default_rng(seed)
    if kind == "white":
        return rng.standard_normal(n)
    if kind == "babble":
        return corpus._babble(n, rate, name, seed)
    return corpus._hum(n, rate, 60.0 if cond == "hum30" else 50.0)


def _request(cname: str, v: float) -> EditRequest:
    group = next(g for g, ps in profiles.PROFILES.items() if cname in ps)
    return EditRequest(**{"emotions" if group == "emotion" else "styles": {cname: v}})


def _render(session: EditSession, cname: str, v: float) -> np.ndarray:
    take = session.run(_request(cname, v))[0]
    return np.asarray(take.segment.samples, dtype=np.float64).mean(axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grids", nargs="+", help="quality.py --json files")
    ap.add_argument("--part", default="0/1", help="K/N: every N-th cell from the K-th")
    args = ap.parse_args()
    if not judges.distillmos_available():
        print("DistillMOS is not installed (see benchmarks/quality.py)", file=sys.stderr)
        return 2
    k, n = (int(s) for s in args.part.split("/"))
    results = [r for path in args.grids for r in json.loads(Path(path).read_text())]
    cells = failing_cells(results)[k::n]
    print(f"{len(cells)} DistillMOS failures (part {k}/{n}); drops at "
          + " / ".join(f"v{o:+.2f}" for o in OFFSETS) + " (at 1.0: 0.96 ... 1.0), median; oracle (additive noise only)")
    t0 = time.perf_counter()
    item = None  # (clip, condition) and what is kept for it while its cells run
    remain = additive = oracle_fails = 0
    for clip, cond, cname, v, grid_drop, limit in cells:
        if item is None or item[0] != (clip, cond):
            x, rate = corpus.degraded(clip, cond)
            item = ((clip, cond), x, rate, EditSession(Clip(x[:, None].astype(np.float32), rate)),
                    float(np.mean(judges.distillmos_scores(x, rate))))
        _, x, rate, session, m0 = item
        shift = min(0.0, 1.0 - (v + max(OFFSETS)))  # at the slider's end: the five below it
        drops = [m0 - float(np.mean(judges.distillmos_scores(_render(session, cname, v + o + shift), rate)))
                 for o in OFFSETS]
        med = float(np.median(drops))
        fails = med > limit
        remain += fails
        line = (f"{clip[:30]:30s} {cond:8s} {cname:9s} {v:4.2f} grid {grid_drop:.2f} | "
                + " ".join(f"{d:+.2f}" for d in drops) + f" | median {med:+.2f} {'FAIL' if fails else 'pass'}")
        kind = next((kd for kd in ("white", "babble", "hum") if cond.startswith(kd)), None)
        if kind is not None:
            xc, _ = corpus.degraded(clip, "clean")
            added = x - xc
            g = math.sqrt(float(np.mean(added**2)) / float(np.mean(_noise(kind, len(x), rate, clip, cond) ** 2)))
            yc = _render(EditSession(Clip(xc[:, None].astype(np.float32), rate)), cname, v)
            oracle = yc + g * _noise(kind, len(yc), rate, clip, cond)
            od = m0 - float(np.mean(judges.distillmos_scores(oracle, rate)))
            additive += 1
            oracle_fails += od > limit
            line += f" | oracle {od:+.2f} {'FAIL' if od > limit else 'pass'}"
        print(line, flush=True)
    print(f"\n{len(cells)} failures re-judged in {time.perf_counter() - t0:.0f} s: {remain} still fail on the "
          f"median of {len(OFFSETS)} renders; of {additive} with added noise, the oracle fails {oracle_fails}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
