"""Where a batch line's time goes: CPU time per stage of ``process_line``, in this process.

Runs the batch's own line function (:func:`stepedit_app.session.batch.process_line`) on lines
generated as ``batch_speed.py`` makes them (2-6 s of real speech, the same recipe: angry 50 %,
1 iteration, ASWG-R001 console, 48 kHz / 24-bit, trim, pads) and prints, per line, the CPU
time (``time.process_time``: far less sensitive than wall time to other processes on a shared
machine) of each stage: reading, the session's analysis of the original, the engine's
preparation, its render and its measurement of the output, each delivery step, writing.  The
last lines are digests of the written files and of the manifest rows (timing columns left
out), to check that a speed change leaves every result as it was.

Usage::

    .venv/bin/python benchmarks/batch_line_cpu.py [--lines 24]
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch_speed import RECIPE, generate_lines  # noqa: E402

import stepedit_app.audio.delivery as delivery  # noqa: E402
import stepedit_app.audio.io as audio_io  # noqa: E402
import stepedit_app.session.batch as batch  # noqa: E402
import stepedit_app.session.session as session  # noqa: E402
from stepedit_app.engines.prosody import engine as prosody  # noqa: E402
from stepedit_app.session.recipe import recipe_from_dict  # noqa: E402

CPU: collections.Counter = collections.Counter()
CALLS: collections.Counter = collections.Counter()


def _timed(owner, name: str, label: str) -> None:
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        t = time.process_time()
        try:
            return fn(*a, **kw)
        finally:
            CPU[label] += time.process_time() - t
            CALLS[label] += 1

    setattr(owner, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=24)
    args = ap.parse_args()
    for owner, name, label in (
        (batch, "process_line", "whole line"),
        (audio_io, "read_clip", "read"),
        (session, "analyse", "session: analysis of the original (pitch + cues)"),
        (prosody.ProsodyEngine, "prepare", "engine: prepare (its own pitch track)"),
        (prosody.ProsodyEngine, "_render", "engine: render"),
        (prosody, "measure_cues", "engine: cues of the output"),
        (delivery, "trim_silence", "delivery: trim"),
        (delivery, "resample", "delivery: resample"),
        (delivery, "normalise_loudness", "delivery: loudness + true-peak limiter"),
        (delivery, "quantise", "delivery: dither"),
        (delivery, "true_peak_dbfs", "delivery: true peak of the result"),
        (audio_io, "write_clip", "write"),
    ):
        _timed(owner, name, label)
    recipe = recipe_from_dict(RECIPE).to_dict()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        generate_lines(work / "lines", args.lines + 1)
        files = sorted((work / "lines").glob("*.wav"))

        def job(i: int, p: pathlib.Path) -> dict:
            return {"line": str(i), "input": p.name, "source": str(p), "output": str(work / "out" / p.name),
                    "output_label": p.name, "key": "k", "seed": i, "recipe": recipe, "region": None,
                    "transcript": None, "overrides": {}}

        batch.process_line(job(0, files[0]))  # warm-up: imports, engine creation
        CPU.clear()
        CALLS.clear()
        rows = [batch.process_line(job(i, p)) for i, p in enumerate(files[1:], 1)]
        bad = [r for r in rows if r["status"] != "done"]
        if bad:
            print("failed:", bad[0]["error"])
            return 1
        n = len(rows)
        audio = sum(float(r["duration_s"]) for r in rows)
        total = CPU["whole line"]
        print(f"{n} lines, {audio:.1f} s of audio: CPU {1000 * total / n:.0f} ms/line "
              f"= {audio / total:.1f}x real time per core")
        for label, v in CPU.most_common():
            if label != "whole line":
                print(f"  {label:<50} {1000 * v / n:7.1f} ms/line  ({CALLS[label] / n:.0f} call(s))")
        render = CPU["engine: render"]
        print(f"  {'outside the engine render':<50} {1000 * (total - render) / n:7.1f} ms/line")
        h = hashlib.sha256(b"".join((work / "out" / p.name).read_bytes() for p in files[1:]))
        print("outputs digest", h.hexdigest()[:16])
        keep = [{k: v for k, v in r.items() if k not in batch.VOLATILE_COLUMNS} for r in rows]
        print("manifest digest", hashlib.sha256(repr(keep).encode()).hexdigest()[:16])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
