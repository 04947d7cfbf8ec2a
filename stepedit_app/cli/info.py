"""``stepedit info``: duration, rate, channels, pitch, loudness, speech ratio of a file."""

from __future__ import annotations

import argparse
import json
import math

from stepedit_app.cli._common import EXIT_OK

NAME = "info"
HELP = "duration, rate, channels, pitch, loudness, speech ratio"


def add_arguments(i: argparse.ArgumentParser) -> None:
    i.add_argument("input")
    i.add_argument("--json", action="store_true", help="machine-readable output")


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:{spec}}{unit}"


def run(args: argparse.Namespace) -> int:
    # One streaming pass, whatever the length (a 3-hour file: seconds, tens of MB); pitch is
    # measured on excerpts of files over two minutes and the output says so.
    from stepedit_app.audio.longfile import summarize_file

    s = summarize_file(args.input)

    def r(v: float, nd: int) -> float | None:
        return None if not math.isfinite(v) else round(v, nd)

    info = {
        "path": str(s.path),
        "duration_s": round(s.duration_s, 4),
        "rate_hz": s.rate,
        "channels": s.channels,
        "frames": s.frames,
        "subtype": s.subtype,
        "median_f0_hz": r(s.median_f0_hz, 1),
        "f0_range_st": r(s.f0_range_st, 2),
        "loudness_lufs": r(s.loudness_lufs, 2),
        "peak_dbfs": r(s.peak_dbfs, 2),
        "speech_ratio": round(s.speech_ratio, 3),
        "voiced_fraction": round(s.voiced_fraction, 3),
        "pitch_sample_s": round(s.pitch_sample_s, 3),
        "pitch_excerpts": s.pitch_excerpts,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    rows = [
        ("file", info["path"]),
        ("duration", f"{s.duration_s:.3f} s ({s.frames} frames)"),
        ("sample rate", f"{s.rate} Hz"),
        ("channels", str(s.channels)),
        ("format", str(s.subtype)),
        ("median pitch", _fmt(s.median_f0_hz, ".1f", " Hz")),
        ("pitch range", _fmt(s.f0_range_st, ".1f", " st")),
        ("loudness", _fmt(s.loudness_lufs, ".1f", " LUFS")),
        ("peak", _fmt(s.peak_dbfs, ".1f", " dBFS")),
        ("speech ratio", f"{s.speech_ratio * 100:.0f} %"),
    ]
    if not s.pitch_whole:
        rows.append(("pitch measured on", f"{s.pitch_excerpts} excerpts of {s.pitch_sample_s / max(1, s.pitch_excerpts):.1f} s "
                                           f"spread over the file ({s.pitch_sample_s:.0f} of {s.duration_s:.0f} s)"))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k.ljust(w)}  {v}")
    return EXIT_OK
