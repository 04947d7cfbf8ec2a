"""What Step-Audio-EditX understands besides the sliders: paralinguistic tags and clone tags.

Plain data (no Qt): the window's tag picker, ``stepedit engines --json`` and the CLI read it.
The model has been trained on two spellings of paralinguistic tags.  The original ten
(November 2025, in the official README and Gradio demo) are capitalised, with Chinese-style
interjection suffixes; the model card of 2026-01-29 adds lower-case English tags.  No code checks
tags: a misspelt tag is read as text, so the picker offers exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tag:
    """One paralinguistic tag: what to insert, what it sounds like, which spelling it is."""

    tag: str
    meaning: str
    #: ``"2025-11"`` (original spelling) or ``"2026-01"`` (model card update).
    since: str

    def to_dict(self) -> dict:
        return {"tag": self.tag, "meaning": self.meaning, "since": self.since}


PARALINGUISTIC_TAGS: tuple[Tag, ...] = (
    Tag("[Breathing]", "an audible breath", "2025-11"),
    Tag("[Laughter]", "laughter", "2025-11"),
    Tag("[Surprise-oh]", "surprised 'oh'", "2025-11"),
    Tag("[Confirmation-en]", "agreeing 'mm-hm' (Mandarin 'en')", "2025-11"),
    Tag("[Uhm]", "hesitation 'uhm'", "2025-11"),
    Tag("[Surprise-ah]", "surprised 'ah'", "2025-11"),
    Tag("[Surprise-wa]", "amazed 'wa'", "2025-11"),
    Tag("[Sigh]", "a sigh", "2025-11"),
    Tag("[Question-ei]", "questioning 'ei?'", "2025-11"),
    Tag("[Dissatisfaction-hnn]", "displeased 'hnn'", "2025-11"),
    Tag("[laugh]", "laughter", "2026-01"),
    Tag("[breath]", "an audible breath", "2026-01"),
    Tag("[uhm]", "hesitation 'uhm'", "2026-01"),
    Tag("[sigh]", "a sigh", "2026-01"),
    Tag("[cough]", "a cough", "2026-01"),
    Tag("[inhale]", "breathing in", "2026-01"),
    Tag("[exhale]", "breathing out", "2026-01"),
    Tag("[chuckle]", "a chuckle", "2026-01"),
    Tag("[giggle]", "a giggle", "2026-01"),
    Tag("[snort]", "a snort", "2026-01"),
    Tag("[clears throat]", "clearing the throat", "2026-01"),
    Tag("[Surprise-yo]", "surprised 'yo'", "2026-01"),
    Tag("[Question-ah]", "questioning 'ah?'", "2026-01"),
    Tag("[Question-en]", "questioning 'en?'", "2026-01"),
)

#: Tags placed before the target text of a clone to choose a dialect or language.
CLONE_TAGS: tuple[Tag, ...] = (
    Tag("[Sichuanese]", "Sichuan dialect", "2025-11"),
    Tag("[Cantonese]", "Cantonese", "2025-11"),
    Tag("[Japanese]", "Japanese", "2025-12"),
    Tag("[Korean]", "Korean", "2025-12"),
)

#: Speed edit_info values: the two sliders, and the stronger single-pass variants.
SPEED_INFO: tuple[str, ...] = ("faster", "slower", "more faster", "more slower")


def tag_strings() -> tuple[str, ...]:
    """Every paralinguistic tag, original spelling first."""
    return tuple(t.tag for t in PARALINGUISTIC_TAGS)


def tags_in(text: str) -> list[str]:
    """The known paralinguistic tags that occur in ``text``, in order of appearance."""
    found = []
    for t in PARALINGUISTIC_TAGS:
        start = 0
        while (i := text.find(t.tag, start)) >= 0:
            found.append((i, t.tag))
            start = i + 1
    return [tag for _, tag in sorted(found)]
