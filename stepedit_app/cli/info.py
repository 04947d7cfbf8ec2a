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
