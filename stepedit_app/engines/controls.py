"""The control vocabulary and :class:`EditRequest`.

Control names follow Step-Audio-EditX (its ``emotion``, ``style`` and ``speed`` edit types), so
one request drives either engine.  Each engine states which of them it supports in its
capabilities; a request naming a control the chosen engine cannot do is refused, never silently
ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from stepedit_app.errors import RequestError

#: Step-Audio-EditX ``emotion`` options (``remove`` is a separate action, not a slider).
EMOTIONS: tuple[str, ...] = (
    "happy", "angry", "sad", "humour", "confusion", "disgusted", "empathy", "embarrass",
    "fear", "surprised", "excited", "depressed", "coldness", "admiration",
)

#: Step-Audio-EditX ``style`` options.
STYLES: tuple[str, ...] = (
    "serious", "arrogant", "child", "older", "girl", "pure", "sister", "sweet", "ethereal",
    "whisper", "gentle", "recite", "generous", "act_coy", "warm", "shy", "comfort",
    "authority", "chat", "radio", "soulful", "story", "vivid", "program", "news",
    "advertising", "roar", "murmur", "shout", "deeply", "loudly", "exaggerated",
)

#: Step-Audio-EditX ``speed`` options, as sliders.
SPEEDS: tuple[str, ...] = ("faster", "slower")

GROUPS: dict[str, tuple[str, ...]] = {"emotion": EMOTIONS, "style": STYLES, "speed": SPEEDS}

MAX_ITERATIONS = 10


def _check_group(group: str, values: Mapping[str, float], allowed: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    if not isinstance(values, Mapping):
        raise RequestError(f"{group}: expected a mapping of name to intensity")
    for name, value in values.items():
        key = str(name).strip().lower()
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RequestError(
                f"{group}: unknown name {name!r} ({hint}allowed: {', '.join(allowed)})"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise RequestError(f"{group}.{key}: intensity {value!r} is not a number (allowed: 0..1)") from None
        if not (0.0 <= v <= 1.0):  # also rejects NaN
            raise RequestError(f"{group}.{key}: intensity {value!r} out of range (allowed: 0..1)")
        if key in out:
            raise RequestError(f"{group}.{key}: given twice")
        out[key] = v
    return out


@dataclass(frozen=True)
class EditRequest:
    """What the user asked for, engine-neutral, validated on construction.

    Parameters
    ----------
    emotions, styles, speed
        ``{name: intensity}`` with intensities in 0..1; several at once blend.
    iterations
        How many refinement passes (1..10); every pass becomes a take.
    transcript
        The words spoken in the region (needed by the Step-Audio-EditX engine).
    seed
        For engines that sample; the embedded engine is deterministic.
    denoise, vad
        One-shot clean-up passes of engines that offer them (edit kinds ``denoise`` and
        ``vad``, i.e. silence removal); they need no transcript.
    paralinguistic
        The region's transcript rewritten with paralinguistic tags where sounds are to be
        inserted (``"so [Laughter] that was it"``; edit kind ``paralinguistic``).
    keep_duration
        Keep the region's length unchanged to the sample (lip-synced dialogue): tempo changes
        are redistributed inside the region, pauses absorbing them first.
    """

    emotions: Mapping[str, float] = field(default_factory=dict)
    styles: Mapping[str, float] = field(default_factory=dict)
    speed: Mapping[str, float] = field(default_factory=dict)
    iterations: int = 1
    transcript: str | None = None
    seed: int | None = None
    denoise: bool = False
    vad: bool = False
    paralinguistic: str | None = None
    keep_duration: bool = False

    def __post_init__(self) -> None:
        for group, attr in (("emotion", "emotions"), ("style", "styles"), ("speed", "speed")):
            checked = _check_group(attr, getattr(self, attr), GROUPS[group])
            object.__setattr__(self, attr, MappingProxyType(checked))
        it = self.iterations
        if isinstance(it, bool) or not isinstance(it, int) and not (isinstance(it, float) and it.is_integer()):
            raise RequestError(f"iterations: {it!r} is not a whole number (allowed: 1..{MAX_ITERATIONS})")
        if not (1 <= int(it) <= MAX_ITERATIONS):
            raise RequestError(f"iterations: {it} out of range (allowed: 1..{MAX_ITERATIONS})")
        object.__setattr__(self, "iterations", int(it))
        if self.transcript is not None:
            t = " ".join(str(self.transcript).split())
            object.__setattr__(self, "transcript", t or None)
        if self.seed is not None and not isinstance(self.seed, int):
            raise RequestError(f"seed: {self.seed!r} is not a whole number")
        for flag in ("denoise", "vad"):
            if not isinstance(getattr(self, flag), bool):
                raise RequestError(f"{flag}: {getattr(self, flag)!r} is not true or false")
        if self.paralinguistic is not None:
            t = " ".join(str(self.paralinguistic).split())
            object.__setattr__(self, "paralinguistic", t or None)
        if not isinstance(self.keep_duration, bool):
            raise RequestError(f"keep_duration: {self.keep_duration!r} is not true or false")

    # --- views -------------------------------------------------------------------------------
    def controls(self) -> Iterator[tuple[str, str, float]]:
        """``(group, name, intensity)`` for every control, zero or not."""
        for group, attr in (("emotion", "emotions"), ("style", "styles"), ("speed", "speed")):
            for name, v in getattr(self, attr).items():
                yield group, name, v

    def active(self) -> list[tuple[str, str, float]]:
        """The controls with a non-zero intensity."""
        return [c for c in self.controls() if c[2] > 0.0]

    def extra_kinds(self) -> list[str]:
        """The one-shot edit kinds asked for besides the sliders (``denoise``, ``vad``,
        ``paralinguistic``), in the order an engine runs them."""
        return [k for k, on in (("denoise", self.denoise), ("vad", self.vad),
                                ("paralinguistic", self.paralinguistic)) if on]

    @property
    def wants_transcript(self) -> bool:
        """True when an engine that reads transcripts needs one (denoise and silence removal
        alone do not)."""
        return bool(self.active()) or self.paralinguistic is not None

    @property
    def is_identity(self) -> bool:
        """True when nothing is asked for: the edit must return its input unchanged."""
        return not self.active() and not self.extra_kinds()

    def summary(self) -> str:
        """Short human text, e.g. ``happy 60% + whisper 30%``."""
        extra = {"denoise": "denoise", "vad": "silence removal", "paralinguistic": "paralinguistic"}
        parts = [extra[k] for k in self.extra_kinds()]
        parts += [f"{name} {round(v * 100)}%" for _, name, v in self.active()]
        text = " + ".join(parts) if parts else "no change"
        return f"{text} (same length)" if self.keep_duration and self.active() else text

    def slug(self) -> str:
        """File-name friendly summary, e.g. ``happy60-whisper30``."""
        extra = {"denoise": "denoise", "vad": "vad", "paralinguistic": "para"}
        parts = [extra[k] for k in self.extra_kinds()]
        parts += [f"{name}{round(v * 100)}" for _, name, v in self.active()]
        return "-".join(parts) if parts else "original"

    def with_iterations(self, n: int) -> EditRequest:
        return dataclasses.replace(self, emotions=dict(self.emotions), styles=dict(self.styles),
                                   speed=dict(self.speed), iterations=n)

    # --- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        d: dict = {
            "emotions": dict(self.emotions),
            "styles": dict(self.styles),
            "speed": dict(self.speed),
            "iterations": self.iterations,
        }
        if self.transcript:
            d["transcript"] = self.transcript
        if self.seed is not None:
            d["seed"] = self.seed
        for k in ("denoise", "vad", "paralinguistic", "keep_duration"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> EditRequest:
        if not isinstance(d, Mapping):
            raise RequestError("request: expected a JSON object")
        known = {"emotions", "styles", "speed", "iterations", "transcript", "seed", "denoise", "vad", "paralinguistic",
                 "keep_duration"}
        extra = sorted(set(d) - known)
        if extra:
            raise RequestError(f"request: unknown field {extra[0]!r} (allowed: {', '.join(sorted(known))})")
        return cls(
            d.get("emotions", {}) or {},
            d.get("styles", {}) or {},
            d.get("speed", {}) or {},
            d.get("iterations", 1),
            d.get("transcript"),
            d.get("seed"),
            denoise=d.get("denoise", False),
            vad=d.get("vad", False),
            paralinguistic=d.get("paralinguistic"),
            keep_duration=d.get("keep_duration", False),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def parse_assignment(text: str, group: str) -> tuple[str, float]:
    """Parse ``NAME=X`` from the command line (X in 0..1, or a percentage like ``60%``)."""
    if "=" not in text:
        raise RequestError(f"--{group} {text!r}: expected NAME=INTENSITY, e.g. happy=0.6")
    name, value = text.split("=", 1)
    value = value.strip()
    try:
        v = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
    except ValueError:
        raise RequestError(f"--{group} {text!r}: intensity {value!r} is not a number (allowed: 0..1)") from None
    return name.strip(), v
