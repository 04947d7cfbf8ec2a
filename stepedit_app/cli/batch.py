"""``stepedit batch``: one recipe over a folder or CSV list, in parallel, resumable."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys

from stepedit_app.cli._common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

NAME = "batch"
HELP = "edit and deliver many lines with a recipe (parallel, resumable, manifest)"


def add_arguments(b: argparse.ArgumentParser) -> None:
    b.add_argument("input", metavar="INPUT_DIR|LIST.csv",
                   help="a folder of audio files (searched recursively) or a CSV list with a 'path' column "
                        "and optional name, region, transcript, emotions.NAME / styles.NAME / speed.NAME columns")
    b.add_argument("--recipe", required=True, metavar="R.json", help="the recipe: engine, request, delivery")
    b.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder (manifest.csv goes here)")
    b.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: the CPUs available); "
                   "with --ray, the most lines in flight")
    b.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run each line as a Ray task; ADDRESS of an existing cluster (e.g. auto, HOST:6379, "
                        "ray://HOST:10001), or none to use RAY_ADDRESS / a local instance")
    b.add_argument("--json", action="store_true", help="machine-readable progress: one JSON object per line on stdout")
    b.add_argument("--force", action="store_true", help="redo lines that an earlier run finished")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _num(v: str) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _json_row(row: dict) -> dict:
    out: dict = {"line": int(row["line"]), "input": row["input"], "status": row["status"],
                 "output": row["output"] or None, "error": row["error"] or None}
    for k in ("loudness_lufs", "true_peak_dbtp", "f0_st", "tempo_pct", "elapsed_s"):
        out[k] = _num(row.get(k, ""))
    return out


def run(args: argparse.Namespace) -> int:
    from stepedit_app.engines.base import CancelToken
    from stepedit_app.session.batch import Batch, BatchFinished, BatchStarted, LineFinished
    from stepedit_app.session.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    batch = Batch(args.input, recipe, args.output, jobs=args.jobs, ray=args.ray, force=args.force)
    cancel = CancelToken()

    def on_signal(signum, frame):  # first Ctrl-C / SIGTERM: stop cleanly; a second one: at once
        cancel.cancel()
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    bar = None
    summary: BatchFinished | None = None
    try:
        for ev in batch.run(cancel):
            if isinstance(ev, BatchStarted):
                if args.json:
                    _emit({"event": "start", "lines": ev.counts.total, "to_run": ev.to_run,
                           "skipped": ev.counts.skipped, "audio_s": round(ev.audio_s, 3),
                           "runner": ev.runner, "output": str(ev.out_dir)})
                elif not args.quiet:
                    bar = _bar(ev)
            elif isinstance(ev, LineFinished):
                c = ev.counts
                if args.json:
                    eta = ev.eta_s
                    _emit({"event": "line", **_json_row(ev.row), "skipped": ev.skipped,
                           "progress": {"finished": c.finished, "total": c.total, "done": c.done,
                                        "skipped": c.skipped, "failed": c.failed,
                                        "elapsed_s": round(ev.elapsed_s, 2),
                                        "eta_s": None if eta is None else round(eta, 1)}})
                elif bar is not None and not ev.skipped:
                    bar.update(min(ev.audio_s_done, bar.total) - bar.n)
                    speed = ev.audio_s_done / ev.elapsed_s if ev.elapsed_s > 0 else 0.0
                    bar.set_postfix_str(f"lines {c.finished}/{c.total}, failed {c.failed}, {speed:.1f}x real time",
                                        refresh=True)
            elif isinstance(ev, BatchFinished):
                summary = ev
    finally:
        if bar is not None:
            bar.close()
        for s, h in old.items():
            signal.signal(s, h)
    assert summary is not None
    c = summary.counts
    if args.json:
        _emit({"event": "end", "lines": c.total, "done": c.done, "skipped": c.skipped, "failed": c.failed,
               "out_of_spec": c.out_of_spec,
               "interrupted": summary.interrupted, "elapsed_s": round(summary.elapsed_s, 2),
               "audio_s": round(summary.audio_s_done, 3), "manifest": str(summary.manifest)})
    if not args.json or summary.failures or summary.interrupted:
        speed = summary.audio_s_done / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
        rate = f" ({speed:.1f}x real time)" if c.done else ""
        spec = f" ({c.out_of_spec} outside the loudness spec: see in_spec in the manifest)" if c.out_of_spec else ""
        print(f"stepedit batch: {c.done} done{spec}, {c.skipped} already done, {c.failed} failed of {c.total} lines "
              f"in {summary.elapsed_s:.1f} s{rate}; manifest: {summary.manifest}", file=sys.stderr)
        for line, inp, err in summary.failures[:10]:
            print(f"  line {line} ({inp}): {err}", file=sys.stderr)
        if len(summary.failures) > 10:
            print(f"  ... and {len(summary.failures) - 10} more (see the manifest)", file=sys.stderr)
    if summary.interrupted:
        print("stepedit batch: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if summary.failures:
        internal = any(e.startswith("internal error") or "worker process died" in e for _, _, e in summary.failures)
        return EXIT_INTERNAL if internal else EXIT_USAGE
    return EXIT_OK


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _bar(ev):
    from tqdm import tqdm

    # Progress in seconds of audio, not lines: lines differ in length, so the ETA is better.
    return tqdm(total=max(ev.audio_s, 1e-9), unit="s", unit_scale=False, file=sys.stderr, dynamic_ncols=True,
                desc=f"batch ({ev.runner})", bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s "
                "audio [{elapsed}<{remaining}{postfix}]", disable=None)
