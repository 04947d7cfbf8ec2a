"""The ``stepedit`` command.

``stepedit`` with no arguments (or with just a file) opens the editor window; subcommands do
the same edits headless, through exactly the session code the window uses::

    stepedit edit IN -o OUT [--emotion NAME=X ...] [--style NAME=X ...] [--speed NAME=X ...]
                 [--iterations N] [--region START:END] [--engine NAME] [--keep-iterations DIR]
    stepedit info IN [--json]
    stepedit engines [--json]

Exit status: 0 on success, 2 on a usage or input error (one line on stderr, never a
traceback), 1 on an internal error (with the details, so it can be reported), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from stepedit_app import __version__
from stepedit_app.errors import Cancelled, StepEditError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _build_parser() -> _Parser:
    p = _Parser(prog="stepedit", description="Expressive voice editor (no subcommand: open the window).")
    p.add_argument("--version", action="version", version=f"stepedit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    e = sub.add_parser("edit", help="edit emotion and speaking style of a file")
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
    e.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    i = sub.add_parser("info", help="duration, rate, channels, pitch, loudness, speech ratio")
    i.add_argument("input")
    i.add_argument("--json", action="store_true", help="machine-readable output")

    g = sub.add_parser("engines", help="list engines, their availability and controls")
    g.add_argument("--json", action="store_true", help="machine-readable output")
    return p


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
    return EditRequest(groups["emotions"], groups["styles"], groups["speed"], args.iterations, args.transcript, args.seed)


def _cmd_edit(args: argparse.Namespace) -> int:
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.io import check_not_source, export_subtype, read_clip, write_clip
    from stepedit_app.session.session import EditSession, Progress, TakeReady

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
    show = not args.quiet and sys.stderr.isatty()
    for ev in session.render(request, region):
        if isinstance(ev, Progress) and show:
            print(f"\r{ev.message or 'working'}: {ev.overall * 100:5.1f} %", end="", file=sys.stderr, flush=True)
        elif isinstance(ev, TakeReady):
            final = ev.take
            if keep is not None:
                name = f"{clip.name}_{request.slug()}_it{ev.take.iteration}{out_path.suffix or '.wav'}"
                write_clip(ev.take.full(clip), keep / name, args.subtype, protect=(args.input,))
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
        print(f"wrote {out_path} ({request.summary()}, {final.iteration} iteration(s)): {', '.join(parts)}", file=sys.stderr)
    return EXIT_OK


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:{spec}}{unit}"


def _cmd_info(args: argparse.Namespace) -> int:
    from stepedit_app.audio.analysis import measure_cues
    from stepedit_app.audio.io import read_clip

    clip = read_clip(args.input)
    cues = measure_cues(clip)
    speech_ratio = cues.speech_s / cues.duration_s if cues.duration_s > 0 else 0.0
    info = {
        "path": str(clip.path),
        "duration_s": round(clip.duration, 4),
        "rate_hz": clip.rate,
        "channels": clip.channels,
        "frames": clip.frames,
        "subtype": clip.subtype,
        "median_f0_hz": None if not math.isfinite(cues.median_f0_hz) else round(cues.median_f0_hz, 1),
        "f0_range_st": None if not math.isfinite(cues.f0_range_st) else round(cues.f0_range_st, 2),
        "loudness_lufs": None if not math.isfinite(cues.loudness_lufs) else round(cues.loudness_lufs, 2),
        "peak_dbfs": None if not math.isfinite(cues.peak_dbfs) else round(cues.peak_dbfs, 2),
        "speech_ratio": round(speech_ratio, 3),
        "voiced_fraction": round(cues.voiced_fraction, 3),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    rows = [
        ("file", info["path"]),
        ("duration", f"{clip.duration:.3f} s ({clip.frames} frames)"),
        ("sample rate", f"{clip.rate} Hz"),
        ("channels", str(clip.channels)),
        ("format", str(clip.subtype)),
        ("median pitch", _fmt(cues.median_f0_hz, ".1f", " Hz")),
        ("pitch range", _fmt(cues.f0_range_st, ".1f", " st")),
        ("loudness", _fmt(cues.loudness_lufs, ".1f", " LUFS")),
        ("peak", _fmt(cues.peak_dbfs, ".1f", " dBFS")),
        ("speech ratio", f"{speech_ratio * 100:.0f} %"),
    ]
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k.ljust(w)}  {v}")
    return EXIT_OK


def _cmd_engines(args: argparse.Namespace) -> int:
    from stepedit_app.engines.base import engine_class, engine_names

    out = []
    for name in engine_names():
        cls = engine_class(name)
        ok, reason = cls.availability()
        caps = cls().capabilities() if ok else None
        entry = {"name": name, "available": ok, "reason": reason}
        if caps is not None:
            entry.update(caps.to_dict())
        out.append(entry)
    if args.json:
        print(json.dumps(out, indent=2))
        return EXIT_OK
    for e in out:
        state = "available" if e["available"] else f"not available: {e['reason']}"
        print(f"{e['name']} — {state}")
        if e.get("description"):
            print(f"  {e['description']}")
        for key in ("emotions", "styles", "speed"):
            if e.get(key):
                print(f"  {key}: {', '.join(e[key])}")
        if e.get("available"):
            mode = "continuous" if e.get("continuous") else f"stepped ({e.get('intensity_steps')} steps)"
            print(f"  intensity: {mode}; devices: {', '.join(e.get('devices', []))}; transcript: "
                  f"{'required' if e.get('needs_transcript') else 'not needed'}")
    return EXIT_OK


COMMANDS = {"edit": _cmd_edit, "info": _cmd_info, "engines": _cmd_engines}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # No subcommand: the editor window (optionally opening one file).
    if not argv or (len(argv) == 1 and argv[0] not in COMMANDS and not argv[0].startswith("-")):
        if argv and not Path(argv[0]).exists():
            print(f"stepedit: {argv[0]}: no such file (commands: {', '.join(COMMANDS)}; see stepedit --help)", file=sys.stderr)
            return EXIT_USAGE
        try:
            from stepedit_app.gui.app import run_gui
        except ImportError as exc:
            print(f"stepedit: the editor window cannot start ({exc}); the subcommands still work", file=sys.stderr)
            return EXIT_USAGE
        return run_gui(argv[0] if argv else None)
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except StepEditError as exc:
        print(f"stepedit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled:
        print("stepedit: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nstepedit: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception:  # noqa: BLE001 - a bug: report it with details for the issue tracker
        import traceback

        print("stepedit: internal error (please report this):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL
