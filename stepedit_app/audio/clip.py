"""Clips, regions and splicing.

A :class:`Clip` is immutable audio: float32 samples laid out frames x channels (soundfile's
layout) plus a sample rate and, when it came from disk, the source path.  Edits never mutate a
clip; they produce new ones.  A :class:`Region` is a span of frames.  :func:`splice` puts an
edited region back into its clip with short crossfades at both boundaries, entirely inside the
region, so nothing outside the selection changes and a region whose length changed shifts what
follows.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepedit_app.errors import RegionError

#: Shortest region (and clip) the engines edit, in seconds.  Below this there is not enough
#: signal for pitch analysis (a few periods of a low voice) and two boundary crossfades.
MIN_EDIT_SECONDS = 0.1

#: Length of each boundary crossfade, in seconds.
CROSSFADE_SECONDS = 0.010

#: Longest time a region may name, in seconds (a week: far beyond any recording, far below
#: where seconds x rate stops being an exact frame index).
MAX_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True, eq=False)
class Clip:
    """Immutable audio.

    Parameters
    ----------
    samples
        Array of shape (frames, channels); converted to C-contiguous float32 and made
        read-only.  A 1-D array is taken as mono.  A read-only float32 ``np.memmap`` is kept
        as it is (no copy): long files are file-backed this way
        (:func:`stepedit_app.audio.longfile.open_clip`), and everything that takes a clip
        reads only the frames it needs.
    rate
        Sample rate in Hz.
    path
        Source file, if any.  Informational: nothing ever writes to it.
    subtype
        libsndfile subtype of the source (e.g. ``"PCM_16"``), used as the default export
        subtype so that an unchanged sample survives a round trip bit for bit.
    """

    samples: np.ndarray
    rate: int
    path: Path | None = None
    subtype: str | None = None
    _digest: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        a = np.asarray(self.samples)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"samples must be (frames, channels), got shape {a.shape}")
        if a.dtype != np.float32 or not a.flags.c_contiguous:
            a = np.ascontiguousarray(a, dtype=np.float32)
        elif a.flags.writeable:
            a = a.copy()
        a.flags.writeable = False
        object.__setattr__(self, "samples", a)
        object.__setattr__(self, "rate", int(self.rate))

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "untitled"

    def mono(self) -> np.ndarray:
        """Mean of all channels as a float64 vector (what analysis looks at)."""
        if self.channels == 1:
            return self.samples[:, 0].astype(np.float64)
        return self.samples.mean(axis=1, dtype=np.float64)

    def digest(self) -> str:
        """Content hash (samples + rate), cached; keys analysis caches."""
        if not self._digest:
            h = hashlib.blake2b(digest_size=16)
            h.update(str(self.rate).encode())
            h.update(str(self.samples.shape).encode())
            step = 1 << 20  # in slices: a file-backed clip is never copied whole
            from stepedit_app.audio.io import release_pages  # (io imports this module)

            for i in range(0, self.frames, step):
                h.update(memoryview(self.samples[i : i + step]))
                release_pages(self.samples[i : i + step])
            self._digest.append(h.hexdigest())
        return self._digest[0]

    def slice(self, region: Region) -> Clip:
        """The samples of ``region`` as a new clip (a read-only view, no copy)."""
        region.check_within(self)
        return Clip(self.samples[region.start : region.end], self.rate, None, self.subtype)

    def with_samples(self, samples: np.ndarray) -> Clip:
        """A new clip with other samples and this clip's rate and subtype."""
        return Clip(samples, self.rate, None, self.subtype)

    def whole(self) -> Region:
        return Region(0, self.frames)


@dataclass(frozen=True)
class Region:
    """A half-open span ``[start, end)`` of frames."""

    start: int
    end: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "end", int(self.end))

    @classmethod
    def from_seconds(cls, start: float, end: float, rate: int) -> Region:
        for v in (start, end):
            if not math.isfinite(v) or abs(v) > MAX_SECONDS:
                raise RegionError(f"region {start:g}–{end:g} s: times must be finite and under {MAX_SECONDS:g} s")
        return cls(int(round(start * rate)), int(round(end * rate)))

    @classmethod
    def parse(cls, text: str, rate: int) -> Region:
        """Parse ``START:END`` in seconds (either side may be empty: ``:2.5``, ``1.2:``)."""
        if ":" not in text:
            raise RegionError(f"region {text!r}: expected START:END in seconds, e.g. 0.5:2.0")
        a, b = text.split(":", 1)
        try:
            start = float(a) if a.strip() else 0.0
            end = float(b) if b.strip() else None
        except ValueError:
            raise RegionError(
                f"region {text!r}: expected START:END in seconds, e.g. 0.5:2.0"
            ) from None
        if not np.isfinite(start) or (end is not None and not np.isfinite(end)):
            raise RegionError(f"region {text!r}: start and end must be finite numbers")
        if start < 0 or (end is not None and end < 0):
            # (also keeps a tiny negative end from rounding to -1, the open-end marker)
            raise RegionError(f"region {text!r}: start and end must not be negative")
        for name, v in (("start", start), ("end", end)):
            if v is not None and v > MAX_SECONDS:  # 1e308 * rate overflows a frame index
                raise RegionError(
                    f"region {text!r}: {name} {v:g} s is beyond any recording (at most {MAX_SECONDS:g} s)"
                )
        s = int(round(start * rate))
        e = -1 if end is None else int(round(end * rate))
        return cls(s, e)

    def resolve(self, clip: Clip) -> Region:
        """Replace an open end (-1) with the clip's end."""
        return Region(self.start, clip.frames if self.end == -1 else self.end)

    @property
    def length(self) -> int:
        return self.end - self.start

    def seconds(self, rate: int) -> tuple[float, float]:
        return self.start / rate, self.end / rate

    def check_within(self, clip: Clip) -> None:
        if self.end <= self.start:
            raise RegionError(
                f"region {self._fmt(clip.rate)} is empty (end must be after start)"
            )
        if self.start < 0 or self.end > clip.frames:
            raise RegionError(
                f"region {self._fmt(clip.rate)} is outside the clip (0.000–{clip.duration:.3f} s)"
            )

    def check_editable(self, clip: Clip) -> None:
        """Raise :class:`RegionError` unless the region can be edited."""
        self.check_within(clip)
        if self.length < MIN_EDIT_SECONDS * clip.rate:
            secs = self.length / clip.rate
            shown = f"{secs:.3f}"
            if float(shown) >= MIN_EDIT_SECONDS:  # just short: do not round up to the minimum
                shown = f"{math.floor(secs * 1e6) / 1e6:.6f}"
            raise RegionError(
                f"region {self._fmt(clip.rate)} is too short to edit "
                f"({shown} s; minimum {MIN_EDIT_SECONDS:.1f} s)"
            )

    def _fmt(self, rate: int) -> str:
        a, b = self.seconds(rate)
        return f"{a:.3f}–{b:.3f} s"


def crossfade_curves(n: int, correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains for an ``n``-sample crossfade.

    Equal-power (sine/cosine) curves keep the level of uncorrelated signals constant, but raise
    correlated ones by up to 3 dB in the middle; equal-gain (linear) curves are right for
    correlated signals.  The engines ramp their edits to nothing at region boundaries, so the
    two sides of a boundary are usually strongly correlated: pick by measured correlation.
    """
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    if correlation > 0.5:
        fade_in = t
        fade_out = 1.0 - t
    else:
        fade_in = np.sin(0.5 * np.pi * t)
        fade_out = np.cos(0.5 * np.pi * t)
    return fade_out.astype(np.float32), fade_in.astype(np.float32)


def _crossfade(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Crossfade from ``a`` to ``b`` (same shape, frames x channels)."""
    n = a.shape[0]
    if n == 0 or np.array_equal(a, b):
        return b.copy()  # nothing to blend: keep the samples bit for bit
    am, bm = a.mean(axis=1), b.mean(axis=1)
    denom = float(np.sqrt(np.dot(am, am) * np.dot(bm, bm)))
    corr = float(np.dot(am, bm) / denom) if denom > 1e-20 else 1.0
    fade_out, fade_in = crossfade_curves(n, corr)
    return a * fade_out[:, None] + b * fade_in[:, None]


def splice_parts(
    clip: Clip, region: Region, edited: np.ndarray, crossfade_s: float = CROSSFADE_SECONDS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`splice` as three consecutive pieces ``(before, body, after)`` without joining
    them: ``before`` and ``after`` are views of the clip's samples (no copy, so a file-backed
    long clip stays on disk), ``body`` is the crossfaded edit.  Writers stream the pieces
    (:func:`stepedit_app.audio.io.write_clip` with ``parts``)."""
    region.check_within(clip)
    edited = np.ascontiguousarray(edited, dtype=np.float32)
    if edited.ndim == 1:
        edited = edited[:, None]
    if edited.shape[1] != clip.channels:
        raise ValueError("edited audio has a different channel count")
    src = clip.samples
    s, e = region.start, region.end
    n_in = s > 0
    n_out = e < clip.frames
    x = int(round(crossfade_s * clip.rate))
    x = max(0, min(x, region.length // 4, edited.shape[0] // 4))
    body = edited.copy()
    if n_in and x:
        body[:x] = _crossfade(src[s : s + x], edited[:x])
    if n_out and x:
        body[-x:] = _crossfade(edited[-x:], src[e - x : e])
    return src[:s], body, src[e:]


def splice(clip: Clip, region: Region, edited: np.ndarray, crossfade_s: float = CROSSFADE_SECONDS) -> Clip:
    """Put ``edited`` in place of ``region`` of ``clip``.

    The first and last ``crossfade_s`` of the region crossfade between the original and the
    edited samples, so nothing outside the region changes (those samples are copied bit for
    bit) and neither boundary clicks.  ``edited`` may be longer or shorter than the region; what
    follows the region shifts accordingly.  A region covering the whole clip is replaced
    without crossfades.
    """
    out = np.concatenate(splice_parts(clip, region, edited, crossfade_s), axis=0)
    return Clip(out, clip.rate, None, clip.subtype)
