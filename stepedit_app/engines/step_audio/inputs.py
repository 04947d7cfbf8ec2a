"""Getting audio and words into the shape Step-Audio-EditX takes.

* **Rate**: the model's tokenizer asserts 16 kHz or more, so quieter rates are upsampled to
  16 kHz; anything at or above 16 kHz is sent as it is (the model resamples internally, and a
  second resampling of ours would only add error).  Output comes at 24 kHz and is resampled to
  the clip's rate; above 12 kHz it is empty, which the take's ``band_limit_hz`` flag states.
  Resampling is polyphase (``scipy.signal.resample_poly``, Kaiser window).
* **Length**: the official README keeps inputs under 30 s.  A longer region is split at
  pauses: each piece ends in the middle of the longest pause (0.15 s or more) in the last
  half of its 30 s window.  A region with no such pause is refused with one line.
* **Transcript split** (documented rule): every piece gets the words its speech time is owed
  at a constant speaking rate, i.e. the cut after piece *i* falls at
  ``round(W x speech(1..i) / speech(all))`` of the transcript's *W* words (a CJK character, a
  word or a tag each count as one); the cut then moves to the nearest clause or sentence end
  (``, . ; : ! ? …`` and their CJK forms) within two words, since pauses fall there.  Every
  piece must get at least one word.
* **Transcripts** come from the request (the window's field, ``--text``) or, for the whole
  file only, a sidecar ``NAME.txt`` or ``NAME.lab`` next to the audio.  The words of a
  sub-region are the user's to give: StepEdit never guesses which part of a sidecar they are.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.signal

from stepedit_app.audio.analysis import activity
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.errors import RequestError

MODEL_RATE = 24000
MIN_INPUT_RATE = 16000
MAX_INPUT_S = 30.0
MIN_PAUSE_S = 0.15
#: Upstream scales an input to this peak when it is louder (and not otherwise).
UPSTREAM_PEAK = 0.6

_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
#: A tag, one CJK character, or a run of anything else up to a space or a CJK character.
_TOKEN = re.compile(rf"\[[^\]\n]{{1,40}}\]|[{_CJK}]|[^\s{_CJK}]+")
_CLAUSE_END = tuple(",.;:!?…，。；：！？、")


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling along the first axis (float64 out)."""
    x = np.asarray(x, dtype=np.float64)
    if from_rate == to_rate:
        return x.copy()
    f = Fraction(int(to_rate), int(from_rate)).limit_denominator(10000)
    return scipy.signal.resample_poly(x, f.numerator, f.denominator, axis=0)


def model_input(mono: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """``(samples, rate)`` to send: rates under 16 kHz upsampled to 16 kHz, others unchanged."""
    if rate < MIN_INPUT_RATE:
        return resample(mono, rate, MIN_INPUT_RATE), MIN_INPUT_RATE
    return np.asarray(mono, dtype=np.float64), rate


def upstream_scale(mono: np.ndarray) -> float:
    """The gain upstream applies to an input before editing (peak 0.6 if louder, else 1);
    dividing the output by it restores the input's level scale."""
    peak = float(np.max(np.abs(mono))) if len(mono) else 0.0
    return UPSTREAM_PEAK / peak if peak > UPSTREAM_PEAK else 1.0


# --- splitting long inputs ---------------------------------------------------------------------


def plan_pieces(mono: np.ndarray, rate: int, max_s: float = MAX_INPUT_S, min_pause_s: float = MIN_PAUSE_S
                ) -> list[tuple[int, int]]:
    """Sample spans ``[(start, end), ...]`` covering ``mono``, each at most ``max_s`` long,
    cut in the middle of pauses (see the module notes).  One span when it is short enough.

    Raises :class:`RequestError` when some stretch longer than ``max_s`` has no pause to cut at.
    """
    n = len(mono)
    limit = int(max_s * rate)
    if n <= limit:
        return [(0, n)]
    hop = 0.01
    act = activity(mono, rate, hop)
    # pauses: (centre sample, length in frames)
    pauses: list[tuple[int, int]] = []
    i = 0
    min_len = max(1, int(round(min_pause_s / hop)))
    while i < len(act):
        if not act[i]:
            j = i
            while j < len(act) and not act[j]:
                j += 1
            if j - i >= min_len and i > 0 and j < len(act):
                pauses.append((int(((i + j) / 2) * hop * rate), j - i))
            i = j
        else:
            i += 1
    spans = []
    start = 0
    while n - start > limit:
        end_max = start + limit
        late = [(length, c) for c, length in pauses if start + limit // 2 <= c <= end_max]
        anywhere = [(length, c) for c, length in pauses if start + int(1.0 * rate) <= c <= end_max]
        pick = max(late or anywhere, default=None)
        if pick is None:
            a, b = start / rate, min(n, end_max) / rate
            raise RequestError(
                f"the region is {n / rate:.1f} s, longer than the model takes ({max_s:.0f} s), and has no pause "
                f"of {min_pause_s:.2f} s or more between {a:.1f} s and {b:.1f} s to split at; select a shorter region"
            )
        spans.append((start, pick[1]))
        start = pick[1]
    spans.append((start, n))
    return spans


def speech_seconds(mono: np.ndarray, rate: int, spans: list[tuple[int, int]]) -> list[float]:
    """Active (speech) time in each span, by the project's activity measure."""
    out = []
    for s, e in spans:
        act = activity(mono[s:e], rate)
        out.append(float(act.sum()) * 0.01)
    return out


def split_transcript(text: str, speech: list[float]) -> list[str]:
    """Split ``text`` into ``len(speech)`` parts by speech time (see the module notes)."""
    k = len(speech)
    if k == 1:
        return [text]
    tokens = list(_TOKEN.finditer(text))
    words = [t for t in tokens if any(ch.isalnum() for ch in t.group()) or t.group().startswith("[")]
    if len(words) < k:
        raise RequestError(
            f"the transcript has {len(words)} word(s) but the region must be split into {k} pieces; "
            "select a shorter region"
        )
    total = sum(speech)
    if total <= 0:
        total, speech = float(k), [1.0] * k
    cum = np.cumsum(speech)[:-1] / total
    cuts: list[int] = []  # index of the first word of each following piece
    lo = 1
    for i, frac in enumerate(cum):
        hi = len(words) - (k - 1 - i)  # leave at least one word for every piece after this
        c = int(min(hi, max(lo, round(len(words) * frac))))
        best = None
        for d in (0, -1, 1, -2, 2):
            cand = c + d
            if lo <= cand <= hi and _clause_end_before(text, words, cand):
                best = cand
                break
        c = best if best is not None else c
        cuts.append(c)
        lo = c + 1
    bounds = [0, *cuts, len(words)]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        s = words[a].start() if a > 0 else 0
        e = words[b].start() if b < len(words) else len(text)
        parts.append(" ".join(text[s:e].split()))
    return parts


def _clause_end_before(text: str, words: list, i: int) -> bool:
    """Whether a clause or sentence ends between word ``i - 1`` and word ``i``."""
    between = text[words[i - 1].start(): words[i].start()]
    return any(ch in _CLAUSE_END for ch in between)


# --- transcripts -------------------------------------------------------------------------------


def read_sidecar(audio_path: str | Path) -> tuple[str, Path] | None:
    """The transcript in ``NAME.txt`` or ``NAME.lab`` next to ``audio_path``, or None.

    A ``.lab`` file is either plain text or an HTK label file (``start end word`` per line;
    silence labels ``sil``, ``sp``, ``pau`` and ``<eps>`` are skipped).
    """
    p = Path(audio_path)
    for ext in (".txt", ".lab"):
        side = p.with_suffix(ext)
        if not side.is_file():
            continue
        try:
            raw = side.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise RequestError(f"{side}: cannot read the transcript ({getattr(exc, 'strerror', None) or exc})") from None
        lines = [ln.split() for ln in raw.splitlines() if ln.strip()]
        if ext == ".lab" and lines and all(len(ln) >= 3 and _isnum(ln[0]) and _isnum(ln[1]) for ln in lines):
            words = [" ".join(ln[2:]) for ln in lines]
            text = " ".join(w for w in words if w.lower() not in ("sil", "sp", "pau", "<eps>", "spn"))
        else:
            text = " ".join(raw.split())
        if text:
            return text, side
    return None


def _isnum(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def resolve_transcript(given: str | None, clip: Clip, region: Region | None) -> tuple[str | None, str]:
    """The transcript for ``region`` of ``clip`` and where it came from.

    ``given`` (the window's field, ``--text``) wins.  Otherwise, for the whole file, a sidecar
    ``.txt``/``.lab`` next to ``clip.path``.  For a sub-region with only a sidecar this raises
    :class:`RequestError`: the sidecar holds the whole file's words and the region's words are
    the user's to give.  Returns ``(None, "")`` when there is nothing.
    """
    if given and given.strip():
        return " ".join(given.split()), "given"
    if clip.path is None:
        return None, ""
    side = read_sidecar(clip.path)
    if side is None:
        return None, ""
    text, path = side
    r = clip.whole() if region is None else region.resolve(clip)
    if r.start > 0 or r.end < clip.frames:
        a, b = r.seconds(clip.rate)
        raise RequestError(
            f"region {a:.3f}–{b:.3f} s needs its own transcript (--text); {path.name} holds the whole "
            "file's words and StepEdit does not guess which of them the region speaks"
        )
    return text, f"from {path}"
