"""The engine interface and registry.

An engine edits one region's audio.  The session calls, per region and clip:

1. :meth:`Engine.prepare` once (analysis that dragging a slider must not redo: WORLD
   parameters, pitch marks, audio tokens); the session caches the result.
2. :meth:`Engine.edit` once per iteration.  It is a *generator*: it yields progress fractions
   (0..1) and returns the edited audio.  Each ``yield`` is a point where the session honours a
   cancel request; engines also call ``ctx.cancel.check()`` inside long steps.

Iteration ``k+1`` gets the previous iteration's output and an engine-private ``state`` dict in
its :class:`EditContext`, so an engine can either chain edits (Step-Audio-EditX edits its own
output) or re-render from the original with corrected parameters (the embedded engine's closed
loop).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from stepedit_app.audio.clip import Clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.errors import Cancelled, RequestError

if TYPE_CHECKING:
    from stepedit_app.audio.analysis import Cues, PitchTrack


class CancelToken:
    """A flag the GUI sets and the render checks (thread-safe)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`~stepedit_app.errors.Cancelled` if cancel was requested."""
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, shown by ``stepedit engines`` and used to build the sliders."""

    name: str
    label: str
    description: str
    emotions: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    speed: tuple[str, ...] = ()
    #: Other edit kinds (``denoise``, ``vad``, ``paralinguistic``, ``clone``...).
    edit_kinds: tuple[str, ...] = ()
    needs_transcript: bool = False
    devices: tuple[str, ...] = ("cpu",)
    #: True when any intensity 0..1 is honoured; False when intensity is stepped.
    continuous: bool = True
    #: Number of steps a stepped engine maps 0..1 onto (ticks in the UI).
    intensity_steps: int | None = None
    #: Output rate when the engine resamples (e.g. 24000); None keeps the input rate.
    output_rate: int | None = None
    #: Longest region the engine accepts, in seconds, or None.
    max_region_s: float | None = None
    #: Paralinguistic tags the engine understands in a ``paralinguistic`` transcript (the
    #: window's tag picker inserts these), e.g. ``[Laughter]``.
    tags: tuple[str, ...] = ()
    #: Least factor by which an output's length may differ from its region's whatever the
    #: intensity (a generative engine re-speaks the words, and may drop a clause, at any slider
    #: position); None: bounded by the request alone (see session.length_bounds).
    length_tolerance: float | None = None
    #: Whether the engine honours ``EditRequest.keep_duration`` (the region keeps its length to
    #: the sample); a request for it is refused otherwise.
    keeps_duration: bool = False

    def supports(self, group: str, name: str) -> bool:
        return name in {"emotion": self.emotions, "style": self.styles, "speed": self.speed}.get(group, ())

    def check_request(self, request: EditRequest) -> None:
        """Refuse controls this engine cannot do (nothing is silently ignored)."""
        for group, name, v in request.controls():
            if v > 0 and not self.supports(group, name):
                raise RequestError(
                    f"engine {self.name!r} cannot do {group} {name!r}; "
                    f"see 'stepedit engines' for what it supports"
                )
        for kind in request.extra_kinds():
            if kind not in self.edit_kinds:
                raise RequestError(
                    f"engine {self.name!r} cannot do {kind}; see 'stepedit engines' for what it supports"
                )
        if getattr(request, "keep_duration", False) and not self.keeps_duration and request.active():
            raise RequestError(f"engine {self.name!r} cannot keep the region's length (keep_duration); "
                               "the prosody engine can")
        if self.needs_transcript and not request.transcript and request.wants_transcript:
            raise RequestError(f"engine {self.name!r} needs the transcript of the region")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "emotions": list(self.emotions),
            "styles": list(self.styles),
            "speed": list(self.speed),
            "edit_kinds": list(self.edit_kinds),
            "needs_transcript": self.needs_transcript,
            "devices": list(self.devices),
            "continuous": self.continuous,
            "intensity_steps": self.intensity_steps,
            "output_rate": self.output_rate,
            "max_region_s": self.max_region_s,
            "length_tolerance": self.length_tolerance,
            "keeps_duration": self.keeps_duration,
            "tags": list(self.tags),
        }


@dataclass
class EditContext:
    """Everything one iteration of an edit needs besides the request."""

    iteration: int  # 1-based
    total: int
    cancel: CancelToken = field(default_factory=CancelToken)
    #: Output of the previous iteration (None on the first).
    previous: Clip | None = None
    #: Engine-private carry-over between iterations of one render.
    state: dict = field(default_factory=dict)
    #: Whether the segment continues into untouched audio before / after it; an engine then
    #: ramps its modification in / out so the session's boundary crossfades are seamless.
    joins_before: bool = False
    joins_after: bool = False
    device: str = "cpu"
    #: Set by an engine that measured its own output (the session then reuses the figures
    #: for the take instead of measuring again).
    measured: object = None
    #: What the user should know about this iteration's output, for the take and the diff
    #: (plain JSON-able values).  Keys an engine may set:
    #:
    #: ``band_limit_hz`` (float)
    #:     the output holds nothing above this frequency (a 24 kHz model on a 48 kHz clip: 12000).
    #: ``full_pass`` (list of str)
    #:     controls whose model pass was kept whole instead of at the slider's intensity,
    #:     because the pass dropped or added content (the alignment failed).
    #: ``alignment`` (dict control -> {"cost": float, "ok": bool, "reason": str})
    #:     how well each morphed pass aligned with its input (cost: path distance relative to
    #:     unrelated frames; 0 = identical, about 1 = unrelated).
    #: ``mono`` (bool)
    #:     a multichannel region came back as one channel copied to every channel.
    #: ``chunks`` (int)
    #:     the region was split at pauses into this many pieces for the model.
    #: ``transcript`` (str)
    #:     the transcript the output now speaks (after a paralinguistic pass).
    #: ``engine`` (dict)
    #:     engine-specific figures (seconds in the model, peak GPU memory...).
    flags: dict = field(default_factory=dict)
    #: Set by an engine whose iteration could not improve on the previous one: the session then
    #: ends the render ("converged at iteration k-1") instead of adding a repeat of that take.
    converged: bool = False


def flag_notes(flags: dict) -> list[str]:
    """One short line per flag of :attr:`EditContext.flags` that the user should read."""
    notes = []
    if flags.get("full_pass"):
        notes.append(f"kept whole (content dropped or added, so no in-between): {', '.join(flags['full_pass'])}")
    if flags.get("band_limit_hz"):
        notes.append(f"nothing above {flags['band_limit_hz'] / 1000:.0f} kHz (the engine's output band)")
    if flags.get("mono"):
        notes.append("the engine's output is mono, copied to every channel")
    if flags.get("chunks"):
        notes.append(f"split at pauses into {flags['chunks']} pieces for the engine")
    if flags.get("level_limited_db"):
        notes.append(f"peaks limited by {flags['level_limited_db']:.1f} dB")
    if flags.get("transcript"):
        notes.append(f"transcript now: {flags['transcript']}")
    return notes


@dataclass
class Prepared:
    """An engine's analysis of one segment (opaque to everything but the engine)."""

    clip: Clip
    data: object = None


EditGenerator = Generator[float, None, Clip]


class Engine(ABC):
    """One way of editing audio. Engines are found by name in :mod:`stepedit_app.engines.registry`."""

    name: str = ""

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """``(available, reason)``: can this engine run on this machine, and if not, why."""
        return True, "ready"

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def prepare(self, clip: Clip, cancel: CancelToken | None = None, cues: Cues | None = None,
                track: PitchTrack | None = None) -> Prepared:
        """Analyse ``clip`` (a region's samples) once; cached by the session.

        ``cues`` and ``track`` are the session's measurement of this same clip (its one
        analysis per region: the cue set and the measuring pitch track, with the tracker's
        evidence); an engine that needs them uses them instead of measuring again.  None when
        called outside a session.
        """

    @abstractmethod
    def edit(self, prepared: Prepared, request: EditRequest, ctx: EditContext) -> EditGenerator:
        """One iteration: yield progress fractions, return the edited clip."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for in-process engines
        """Release resources (worker processes, GPU memory)."""


def as_float64_channels(clip: Clip) -> np.ndarray:
    """Channel-major float64 copy (channels x frames), the layout the DSP works in."""
    return np.ascontiguousarray(clip.samples.T, dtype=np.float64)
