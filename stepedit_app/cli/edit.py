"""``stepedit edit``: edit emotion and speaking style of a file, headless.

Everything that can be refused is refused before any slow work: the request, the engine, the
input's header, the region (including the engine's longest region), every output path
(format, folder, read-only file) and the ``--keep-iterations`` folder.  Outputs are written
atomically; if the command stops part way, its one line says which files were written.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from stepedit_app import interrupts
from stepedit_app.cli._common import EXIT_OK, Written
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
    e.add_argument("--transcript", "--text", dest="transcript",
                   help="words spoken in the region (engines that need it; default for the whole file: "
                        "a sidecar IN.txt or IN.lab)")
    e.add_argument("--denoise", action="store_true", help="remove noise (engines that offer it)")
    e.add_argument("--vad", action="store_true", help="remove silences (engines that offer it)")
    e.add_argument("--paralinguistic", metavar="TEXT",
                   help="the transcript with tags where sounds go, e.g. 'so [Laughter] that was it'")
    e.add_argument("--keep-iterations", metavar="DIR", help="also write every iteration into DIR")
    e.add_argument("--subtype", help="16, 24 or float (default: as the input where possible)")
    e.add_argument("--seed", type=int, help="random seed for engines that sample")
    e.add_argument("--force", action="store_true", help="replace output files even if they are read-only")
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
                       denoise=args.denoise, vad=args.vad, paralinguistic=args.paralinguistic,
                       keep_duration=args.keep_duration)


def _with_transcript(request, session, clip, region, quiet: bool):
    """Fill in the transcript from a sidecar when the engine needs one and none was given."""
    import dataclasses

    from stepedit_app.engines.step_audio.inputs import resolve_transcript
    from stepedit_app.errors import RequestError

    caps = session.engine.capabilities()
    if request.transcript or not (caps.needs_transcript and request.wants_transcript):
        return request
    text, where = resolve_transcript(None, clip, region)
    if text is None:
        stem = clip.path.with_suffix("") if clip.path else "IN"
        raise RequestError(f"engine {caps.name!r} needs the transcript of the region: --text \"...\", "
                           f"or {stem}.txt next to the file")
    if not quiet:
        print(f"transcript {where}", file=sys.stderr)
    return dataclasses.replace(request, emotions=dict(request.emotions), styles=dict(request.styles),
                               speed=dict(request.speed), transcript=text)


def _keep_names(stem: str, request, suffix: str) -> list[str]:
    return [f"{stem}_{request.slug()}_it{k}{suffix}" for k in range(1, request.iterations + 1)]


def _write_take(clip, take, path: Path, args: argparse.Namespace, written: Written,  # noqa: ANN001
                last: bool = False) -> None:
    """The take spliced into the whole file, through :mod:`stepedit_app.session.export` (the
    window's export path; streamed in pieces, never joined in memory).

    ``last``: the command's final output.  Signals are disarmed inside the section that renames
    it into place, so a Ctrl-C or SIGTERM arriving after the rename, while the call returns,
    cannot report "interrupted" (exit 130/143) for a command whose output is complete."""
    from stepedit_app.session.export import export

    def done(p: Path) -> None:
        written.add(p)
        if last:
            interrupts.disarm()  # the work is done: a signal from now on changes nothing

    export(clip, take, path, subtype=args.subtype, protect=(args.input,), force=args.force, on_written=done)


def _iterations(n: int) -> str:
    return f"{n} iteration" if n == 1 else f"{n} iterations"


def run(args: argparse.Namespace) -> int:
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.io import check_output, read_clip, read_info
    from stepedit_app.audio.longfile import IN_MEMORY_LIMIT_BYTES, open_clip
    from stepedit_app.engines.registry import create_engine
    from stepedit_app.session.session import (
        EditSession,
        Progress,
        RenderConverged,
        TakeReady,
        check_region_length,
    )

    written: Written = getattr(args, "_written", None) or Written()
    request = _request_from_args(args)  # validate before any slow work
    engine = create_engine(args.engine)
    caps = engine.capabilities()
    if request.transcript or not (caps.needs_transcript and request.wants_transcript):
        caps.check_request(request)  # else checked once the sidecar transcript is read (below)
    out_path = Path(args.output)
    info = read_info(args.input)  # the header: exists, readable, audio
    protect = (args.input,)
    check_output(out_path, args.subtype, info.subtype, protect, args.force)
    region = None
    if args.region:
        region = Region.parse(args.region, info.samplerate)
    # The engine's longest region, from the header: a 3-hour file is refused before it is read.
    if info.frames > 0:
        start = region.start if region is not None else 0
        end = info.frames if region is None or region.end == -1 else min(region.end, info.frames)
        if end > start:
            check_region_length(engine, start, end, info.samplerate)
    keep = Path(args.keep_iterations) if args.keep_iterations else None
    keep_paths: list[Path] = []
    if keep is not None:
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # an existing file, no permission, ...: one line, not a traceback
            raise StepEditError(f"{keep}: cannot create the --keep-iterations folder ({exc.strerror})") from None
        keep_paths = [keep / n for n in _keep_names(Path(args.input).stem, request, out_path.suffix or ".wav")]
        for p in keep_paths:
            check_output(p, args.subtype, info.subtype, protect, args.force)

    if info.frames * info.channels * 4 > IN_MEMORY_LIMIT_BYTES:
        # a long file: decoded once to the cache and mapped, so editing a region of a 3-hour
        # recording needs memory for the region, not the recording
        clip = open_clip(args.input).clip
    else:
        clip = read_clip(args.input)
    if region is not None:
        region = region.resolve(clip)
    session = EditSession(clip, engine)
    request = _with_transcript(request, session, clip, region, args.quiet)
    session.region_or_whole(region)  # empty, outside the clip, too short or too long: refused now
    written.output = out_path
    written.started = True
    final = None
    converged = None
    show = not args.quiet and sys.stderr.isatty()
    progress_line = False
    try:
        for ev in session.render(request, region):
            if isinstance(ev, Progress) and show:
                print(f"\r{ev.message or 'working'}: {ev.overall * 100:5.1f} %", end="", file=sys.stderr, flush=True)
                progress_line = True
            elif isinstance(ev, TakeReady):
                final = ev.take
                if keep is not None:
                    p = keep_paths[ev.take.iteration - 1]
                    _write_take(clip, ev.take, p, args, written)
                    interrupts.check()
            elif isinstance(ev, RenderConverged):
                converged = ev.iteration
        if final is None:
            raise StepEditError("no iteration finished")
        _write_take(clip, final, out_path, args, written, last=True)  # disarms signals once renamed
    finally:
        if progress_line:
            print(file=sys.stderr, flush=True)  # end the progress line before any message
    if not args.quiet:
        d = final.deltas or {}
        parts = []
        for key, label, unit in (("f0_st", "pitch", " st"), ("range_st", "range", " st"), ("tempo_pct", "tempo", " %"),
                                 ("loudness_lu", "loudness", " LU"), ("tilt_db", "tilt", " dB")):
            v = d.get(key)
            if v is not None and math.isfinite(v):
                parts.append(f"{label} {v:+.1f}{unit}")
        done = f"converged at iteration {converged}" if converged is not None else _iterations(final.iteration)
        print(f"wrote {out_path} ({request.summary()}, {done}): {', '.join(parts)}", file=sys.stderr)
        from stepedit_app.engines.base import flag_notes

        for note in flag_notes(getattr(final, "flags", {}) or {}):
            print(f"note: {note}", file=sys.stderr)
    return EXIT_OK
