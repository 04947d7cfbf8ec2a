"""Batch throughput: ``stepedit batch`` on generated lines, local processes and Ray.

Generates ``--lines`` lines (default 200) of 2-6 s real speech, cut at random from the clips
in ``tests/data`` (LJ Speech at 22.05 kHz, CMU ARCTIC at 16 kHz; each rate's clips looped so a
cut can be 6 s long; 5 ms fades at the cuts), then runs one recipe over them:

    angry 50 %, 1 iteration, prosody engine; delivery: ASWG-R001 console (-24 LUFS, -1 dBTP),
    48 kHz / 24-bit WAV with TPDF dither, head/tail trim, 20/100 ms padding

and prints, for each runner:

- **local**: ``--jobs`` worker processes (default 2, this machine's cores): wall time of the
  whole batch (planning, hashing, pool start, every line, manifest), audio seconds, and the
  throughput as x real time (audio seconds / wall seconds); target >= 20x on 2 cores;
- **ray**: the same batch as Ray tasks on a local Ray instance with ``--jobs`` CPUs started
  by this script (loopback only): the time of ``import ray`` and ``ray.init``, then the
  batch's wall time and x real time.

For both, the **overhead per line**: slot time not spent editing and delivering, i.e.
(wall x jobs - the sum of the lines' own compute times from the manifest) / lines; it holds
planning, pool / worker start-up, dispatch and result transport, manifest writes and idle
slots at the end.  Also the wall-time difference between the two runs per line (noisy on a
shared machine).

Also the resume figure: the same batch run again (every line skipped: hashing + manifest).

The local run also prints the CPU time its worker processes used per line, and the x real
time that would give on two cores nobody else uses (audio seconds x 2 / worker CPU seconds):
on a machine shared with other work the wall-clock figure moves with their load (the same
code measured 6x to 16x within an hour here), the CPU figure far less (a few per cent).

``--check`` runs 10 lines through both runners and exits non-zero unless every line is done,
in spec, and the two runners wrote identical files.  Speed is printed, never asserted.

Usage::

    .venv/bin/python benchmarks/batch_speed.py [--lines 200] [--jobs 2] [--no-ray] [--check]
"""

from __future__ import annotations

import os

# A local Ray instance started here binds to the loopback interface only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepedit_app.session.batch import read_manifest, run_batch  # noqa: E402
from stepedit_app.session.recipe import recipe_from_dict  # noqa: E402

RECIPE = {
    "schema": "stepedit-recipe", "version": 1, "engine": "prosody",
    "request": {"emotions": {"angry": 0.5}, "iterations": 1},
    "delivery": {"preset": "aswg-console", "sample_rate": 48000, "bit_depth": 24,
                 "trim": {"head": True, "tail": True}, "pad": {"head_ms": 20, "tail_ms": 100}},
}


def generate_lines(folder: pathlib.Path, n: int, seed: int = 0) -> float:
    """Write ``n`` lines of 2-6 s into ``folder``; returns their total duration in seconds."""
    data = ROOT / "tests" / "data"
    pools: dict[int, np.ndarray] = {}
    for p in sorted(data.glob("*.wav")):
        x, rate = sf.read(p, dtype="float32")
        pools.setdefault(rate, np.zeros(0, np.float32))
        pools[rate] = np.concatenate([pools[rate], x])
    rates = sorted(pools)
    rng = np.random.default_rng(seed)
    total = 0.0
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rate = rates[i % len(rates)]
        src = np.tile(pools[rate], 3)
        length = int(rng.uniform(2.0, 6.0) * rate)
        start = int(rng.integers(0, len(src) - length))
        y = src[start : start + length].copy()
        f = int(0.005 * rate)
        ramp = np.linspace(0, 1, f, dtype=np.float32)
        y[:f] *= ramp
        y[-f:] *= ramp[::-1]
        sf.write(folder / f"line_{i:04d}.wav", y, rate, subtype="PCM_16")
        total += length / rate
    return total


def run(label: str, lines: pathlib.Path, out: pathlib.Path, jobs: int, ray: str | None) -> tuple[float, float, dict]:
    recipe = recipe_from_dict(RECIPE)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    s = run_batch(lines, recipe, out, jobs=jobs, ray=ray)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # local workers only (Ray's are not ours)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    c = s.counts
    # Overhead per line: the wall time of every slot not spent inside process_line (planning,
    # pool or worker start, dispatch, result transport, manifest), shared out over the lines.
    compute = sum(float(r["elapsed_s"] or 0) for r in read_manifest(out / "manifest.csv")) if c.done else 0.0
    overhead = (wall * jobs - compute) / max(1, c.done) if c.done else float("nan")
    print(f"{label:<22} {c.done:4d} done {c.skipped:4d} skipped {c.failed:3d} failed  {s.audio_s_done:7.1f} s audio  "
          f"{wall:7.1f} s wall  {s.audio_s_done / wall if s.audio_s_done else 0:6.1f}x real time  "
          f"{1000 * wall / max(1, c.total):6.0f} ms/line"
          + (f"  overhead {1000 * overhead:5.0f} ms/line" if c.done else ""), flush=True)
    if ray is None and c.done:
        print(f"{'':<22} worker CPU {1000 * cpu / c.done:5.0f} ms/line (start-up included): "
              f"{s.audio_s_done * jobs / cpu:5.1f}x real time on {jobs} free cores", flush=True)
    return wall, s.audio_s_done, {"done": c.done, "failed": c.failed, "overhead": overhead}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--check", action="store_true", help="10 lines; fail unless both runners agree")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temporary folder")
    ap.add_argument("--recipe", metavar="R.json", help="another recipe than the default (angry 50 %%, ASWG console)")
    args = ap.parse_args()
    n = 10 if args.check else args.lines
    if args.recipe:
        RECIPE.clear()
        RECIPE.update(json.loads(pathlib.Path(args.recipe).read_text()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"batch_speed: {n} lines, {args.jobs} jobs, {os.cpu_count()} CPUs, load average {load:.1f} at start "
          "(other processes on this machine share its cores)")
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(args.keep or tmp)
        audio = generate_lines(work / "lines", n)
        print(f"generated {n} lines, {audio:.1f} s of audio (2-6 s each, 16 / 22.05 kHz)")
        wall_local, _, res_local = run("local processes", work / "lines", work / "out_local", args.jobs, None)
        run("local, resumed", work / "lines", work / "out_local", args.jobs, None)
        ok = res_local["done"] == n
        if not args.no_ray:
            t0 = time.perf_counter()
            import ray

            t1 = time.perf_counter()
            import logging

            ray.init(address="local", num_cpus=args.jobs, include_dashboard=False, object_store_memory=128 * 1024 * 1024,
                     logging_level=logging.WARNING, log_to_driver=False)
            t2 = time.perf_counter()
            print(f"ray {ray.__version__}: import {t1 - t0:.2f} s, local ray.init(num_cpus={args.jobs}) {t2 - t1:.2f} s")
            try:
                wall_ray, _, res_ray = run("ray (local instance)", work / "lines", work / "out_ray", args.jobs, "")
                run("ray, resumed", work / "lines", work / "out_ray", args.jobs, "")
            finally:
                t3 = time.perf_counter()
                ray.shutdown()
                print(f"ray.shutdown {time.perf_counter() - t3:.2f} s")
            print(f"ray overhead per line: {1000 * res_ray['overhead']:.0f} ms (local processes: "
                  f"{1000 * res_local['overhead']:.0f} ms); wall-time difference ray - local: "
                  f"{1000 * (wall_ray - wall_local) / n:+.0f} ms per line (ray.init not included; both are "
                  "noisy while other processes share the cores)")
            ok = ok and res_ray["done"] == n
            same = all((work / "out_local" / p.relative_to(work / "out_ray")).read_bytes() == p.read_bytes()
                       for p in (work / "out_ray").glob("*.wav"))
            print(f"ray outputs identical to local: {same}")
            ok = ok and same
        rows = read_manifest(work / "out_local" / "manifest.csv")
        spec = sum(r["in_spec"] == "yes" for r in rows)
        print(f"in spec (the recipe's loudness tolerance and true-peak ceiling): {spec}/{len(rows)}")
        ok = ok and not any(r["in_spec"] == "no" for r in rows)
    if args.check:
        print("check:", "ok" if ok else "FAILED")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
