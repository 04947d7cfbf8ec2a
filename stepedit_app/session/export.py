"""Exporting a take: spliced into the whole clip or the region alone, WAV or FLAC, optional
loudness normalisation with a true-peak limiter, file names from a template.

Writes go through :func:`stepedit_app.audio.io.write_clip` (atomic; the source is never
written).  Without normalisation a full-clip export keeps every sample outside the region bit
for bit (when exported at the source's sample format).  The DSP (loudness, true peak, limiter,
dither) is :mod:`stepedit_app.audio.delivery`, the one implementation every export path uses.
"""

from __future__ import annotations

import datetime as _dt
import re
import string
from collections.abc import Generator
from pathlib import Path

import numpy as np

from stepedit_app.audio import delivery
from stepedit_app.audio.clip import Clip, splice_parts
from stepedit_app.audio.io import export_subtype, write_clip
from stepedit_app.errors import StepEditError
from stepedit_app.session.takes import Take, TakeList

TEMPLATE_FIELDS = ("name", "emotion", "take", "iteration", "engine", "date")
DEFAULT_TEMPLATE = "{name}_{emotion}_{take}"
SCOPES = ("full", "region")


def render_name(template: str, *, source: Clip, take: Take | None, ext: str) -> str:
    """File name from ``template`` (fields: name, emotion, take, iteration, engine, date).

    ``emotion`` is the take's request slug (``happy60-whisper30``), ``original`` without a take.
    Characters that are not safe in file names become ``_``.
    """
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise StepEditError(f"file-name template {template!r}: {exc}") from None
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise StepEditError(
                f"file-name template: unknown field {{{f}}} (allowed: {', '.join('{' + x + '}' for x in TEMPLATE_FIELDS)})"
            )
    values = {
        "name": source.name,
        "emotion": take.request.slug() if take is not None else "original",
        "take": str(take.id) if take is not None else "0",
        "iteration": str(take.iteration) if take is not None else "0",
        "engine": take.engine if take is not None else "none",
        "date": _dt.date.today().isoformat(),
    }
    name = template.format(**values)
    name = re.sub(r"[^\w.\-+ ]", "_", name).strip(" .") or "export"
    ext = ext if ext.startswith(".") else "." + ext
    return name + ext.lower()


def true_peak_dbfs(samples: np.ndarray, rate: int) -> float:
    """True peak (BS.1770-4 style oversampled sample peak), dBFS; see
    :func:`stepedit_app.audio.delivery.true_peak_dbfs`."""
    return delivery.true_peak_dbfs(samples, rate)


def normalise(clip: Clip, lufs: float, true_peak_db: float = -1.0) -> Clip:
    """Gain ``clip`` to ``lufs`` integrated loudness with a look-ahead true-peak limiter at
    ``true_peak_db``.

    Where reaching the target would need more than
    :data:`~stepedit_app.audio.delivery.MAX_LIMITING_DB` of limiting, loudness lands below the
    target instead; the true peak never passes the ceiling.
    """
    if not (-70.0 <= lufs <= 0.0):
        raise StepEditError(f"loudness target {lufs} LUFS out of range (allowed: -70..0)")
    samples, _, _, _ = delivery.normalise_loudness(clip.samples, clip.rate, lufs, true_peak_db)
    return clip.with_samples(samples)


def iter_export(
    source: Clip,
    take: Take | None,
    path: str | Path,
    *,
    subtype: str | None = None,
    scope: str = "full",
    lufs: float | None = None,
    true_peak_db: float = -1.0,
    protect: tuple = (),
    force: bool = False,
    on_written=None,
) -> Generator[float, None, Path]:
    """:func:`export` as a generator: yields progress (0..1) between its steps (splice,
    loudness, write) and returns the path written.  The window runs it on a worker.

    A full-clip export without loudness normalisation is streamed as three pieces (before the
    region, the crossfaded edit, after it; :func:`~stepedit_app.audio.clip.splice_parts`), never
    joined in memory, so a take of a file-backed three-hour recording exports in the memory of
    its region.  ``protect``, ``force`` and ``on_written`` go to
    :func:`~stepedit_app.audio.io.write_clip`.
    """
    if scope not in SCOPES:
        raise StepEditError(f"export scope {scope!r} (allowed: {', '.join(SCOPES)})")
    yield 0.0
    protect = (*protect, *((source.path,) if source.path is not None else ()))
    parts = None
    if take is None:
        clip = source
    elif scope == "full" and lufs is None:
        clip = source
        parts = splice_parts(source, take.region, take.segment.samples)
    elif scope == "full":
        clip = take.full(source)
    else:
        clip = take.segment
    yield 0.3
    if lufs is not None:
        clip = normalise(clip, lufs, true_peak_db)
        # every sample changed: quantise with TPDF dither rather than plain rounding
        bits = {"PCM_16": 16, "PCM_24": 24}.get(export_subtype(path, subtype, source.subtype))
        if bits is not None:
            clip = clip.with_samples(delivery.quantise(clip.samples, bits, "tpdf", seed=0))
        yield 0.6
    out = write_clip(Clip(clip.samples, clip.rate, None, source.subtype), path, subtype, protect=protect,
                     force=force, on_written=on_written, parts=parts)
    yield 1.0
    return out


def export(
    source: Clip,
    take: Take | None,
    path: str | Path,
    *,
    subtype: str | None = None,
    scope: str = "full",
    lufs: float | None = None,
    true_peak_db: float = -1.0,
    takes: TakeList | None = None,
    protect: tuple = (),
    force: bool = False,
    on_written=None,
) -> Path:
    """Write ``take`` (or the original when None) to ``path``; returns the path written.

    ``scope`` is ``full`` (the take spliced into the whole clip) or ``region`` (the edited
    region alone).  ``lufs`` normalises loudness with a true-peak ceiling.  ``subtype`` as
    :func:`stepedit_app.audio.io.export_subtype` takes it (``16``, ``24``, ``float``,
    ``PCM_24``...; default: the source's where the format allows).  With ``takes`` the take
    is marked exported.  The command line writes through here too.
    """
    gen = iter_export(source, take, path, subtype=subtype, scope=scope, lufs=lufs, true_peak_db=true_peak_db,
                      protect=protect, force=force, on_written=on_written)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            out = stop.value
            break
    if takes is not None and take is not None:
        takes.mark_exported(take)
    return out
