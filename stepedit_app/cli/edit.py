"""``stepedit edit``: edit emotion and speaking style of a file, headless."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from stepedit_app.cli._common import EXIT_OK
from stepedit_app.errors import StepEditError

NAME = "edit"
HELP = "edit emotion and speaking style of a file"


def add_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("input", help="audio file to edit (never written)")
    e.add_argument("-o", "--output", required=True, help="output file (.wav or .flac)")
    e.add_argument("--emotion", action="append", default=[], metavar="NAME=X", help="emotion intensity 0..1 (repeatable)")
    e.add_argument("--style", action="append", default=[], metavar="NAME=X", help="style intensity 0..1 (repeatable)")
    e.add_argument("--speed", action="append", default=[], metavar="NAME=X", help="faster/slower intensity 0..1")
    e.add_argument("--iterations", type=int, default=1, help="refinement passes 1..10 (default 1)")
    e.add_argument("--region", metavar="START:END", help="edit only this span, in seconds (e.g. 0.5:2.0)")
    e.add_argument("--engine", default="prosody", help="engine name (see 'stepedit engines')")
    e.add_argument("--transcript", help="words spoken in the region (engines that need it)")
    e.add_argument("--keep-iterations", metavar="DIR", help="also write every iteration into DIR")
    e.add_argument("--subtype", help="16, 24 or float (default: as the input where possible)")
    e.add_argument("--seed", type=int, help="random seed for engines that sample")
    e.add_argument("--keep-duration", action="store_true",
                   help="keep the region's length to the sample (tempo redistributed, pauses first)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _request_from_args(args: argparse.Namespace):
    from stepedit_app.engines.controls import EditRequest, parse_assignment
    from stepedit_app.errors import RequestError

    groups: dict[str, dict[str, float]] = {"emotions": {}, "styles": {}, "speed": {}}
    for flag, key in (("emotion", "emotions"), ("style", "styles"), ("speed", "speed")):
        seen: set[str] = set()
        for text in getattr(args, flag):
            name, v = parse_assignment(text, flag)
            norm = name.strip().lower()
            if norm in seen:  # a repeated flag must not silently override the first one
                raise RequestError(f"{key}.{norm}: given twice")
            seen.add(norm)
            groups[key][name] = v
    return EditRequest(groups["emotions"], groups["styles"], groups["speed"], args.iterations, args.transcript, args.seed,
                       bool(getattr(args, "keep_duration", False)))


def run(args: argparse.Namespace) -> int:
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.io import check_not_source, export_subtype, read_clip, write_clip
    from stepedit_app.session.session import EditSession, Progress, RenderConverged, TakeReady

    request = _request_from_args(args)  # validate before any slow work
    out_path = Path(args.output)
    export_subtype(out_path, args.subtype, None)  # early check of format / subtype names
    clip = read_clip(args.input)
    check_not_source(out_path, (args.input,))
    region = Region.parse(args.region, clip.rate).resolve(clip) if args.region else None
    keep = Path(args.keep_iterations) if args.keep_iterations else None
    if keep is not None:
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # an existing file, no permission, ...: one line, not a traceback
            raise StepEditError(f"{keep}: cannot create the --keep-iterations folder ({exc.strerror})") from None
    session = EditSession(clip, args.engine)
    final = None
    converged = None
    show = not args.quiet and sys.stderr.isatty()
    for ev in session.render(request, region):
        if isinstance(ev, Progress) and show:
            print(f"\r{ev.message or 'working'}: {ev.overall * 100:5.1f} %", end="", file=sys.stderr, flush=True)
        elif isinstance(ev, TakeReady):
            final = ev.take
            if keep is not None:
                name = f"{clip.name}_{request.slug()}_it{ev.take.iteration}{out_path.suffix or '.wav'}"
                write_clip(ev.take.full(clip), keep / name, args.subtype, protect=(args.input,))
        elif isinstance(ev, RenderConverged):
            converged = ev.iteration
    if show:
        print(file=sys.stderr)
    if final is None:
        raise StepEditError("no iteration finished; nothing written")
    write_clip(final.full(clip), out_path, args.subtype, protect=(args.input,))
    if not args.quiet:
        d = final.deltas or {}
        parts = []
        for key, label, unit in (("f0_st", "pitch", " st"), ("range_st", "range", " st"), ("tempo_pct", "tempo", " %"),
                                 ("loudness_lu", "loudness", " LU"), ("tilt_db", "tilt", " dB")):
            v = d.get(key)
            if v is not None and math.isfinite(v):
                parts.append(f"{label} {v:+.1f}{unit}")
        done = f"converged at iteration {converged}" if converged is not None else f"{final.iteration} iteration(s)"
        print(f"wrote {out_path} ({request.summary()}, {done}): {', '.join(parts)}", file=sys.stderr)
    return EXIT_OK
