"""Independent judges: Praat (through praat-parselmouth), DistillMOS, a speaker embedding.

Test and benchmark code only: parselmouth is GPL and the package never imports it (checked by
``tests/robustness/test_guards.py``).  DistillMOS is optional (``benchmarks/README.md`` says how
to install it without torchaudio); :func:`distillmos_score` returns None when it is absent.
"""

from __future__ import annotations

import functools
import math
import sys
import types

import numpy as np
import parselmouth
import scipy.signal
from parselmouth.praat import call

# --- mains hum ----------------------------------------------------------------------------


def without_mains_hum(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` with stationary mains hum taken out, for measuring the *voice*.

    Praat reads hum as a 50 Hz voice: on a male voice with hum 10 dB down its median F0 was
    the hum's (50 Hz, the voice is at 108 Hz), and hum-only pauses count as voiced frames, at
    the mercy of the two-pass floor (a 15th percentile that falls on hum frames or not).  Hum
    is found on the median (not mean) Welch spectrum of 1 s segments, where intermittent speech
    leaves no lines: a base of 50 or 60 Hz is hum when two of its first four multiples stand
    10 dB over the median of their +-10 Hz surroundings, or the base alone stands 20 dB over.
    Then steady sinusoids at every multiple up to 1.2 kHz are fitted to the whole clip by least
    squares and subtracted (a notch filter would ring into the pauses, and Praat voices the
    ringing).  Clean input comes back unchanged.  (Written for the judges, independently of
    the package's hum handling.)
    """
    x = np.asarray(x, dtype=np.float64)
    n = min(len(x), 20 * rate)
    if n < rate:
        return x
    f, p = scipy.signal.welch(x[:n] - x[:n].mean(), rate, nperseg=rate, noverlap=3 * rate // 4, average="median")
    df = f[1] - f[0]

    def stands_out(hz: float, db: float = 10.0) -> bool:
        i = int(round(hz / df))
        ring = np.r_[p[max(0, i - int(10 / df)) : i - int(2 / df)], p[i + int(2 / df) + 1 : i + int(10 / df) + 1]]
        return len(ring) > 0 and p[i - 1 : i + 2].max() > 10 ** (db / 10) * np.median(ring)

    for base in (50.0, 60.0):
        # two of the first four multiples, or the mains line alone 20 dB clear: under a low
        # male voice the multiples hide among its harmonics (CMU, hum 20 dB down: the 50 Hz line
        # 32 dB clear, 100 Hz 3 dB), and Praat voiced the hum-only pauses of a slower edit
        if sum(stands_out(base * k) for k in range(1, 5)) >= 2 or stands_out(base, 20.0):
            hz = base * np.arange(1, int(min(1200.0, 0.45 * rate) // base) + 1)
            ph = 2 * np.pi * np.outer(np.arange(len(x)) / rate, hz)
            basis = np.hstack([np.cos(ph), np.sin(ph)])
            # Fitted twice: over everything, then where what is left is at its floor (the
            # pauses), so a voice harmonic passing a mains line is not taken for hum.
            w = np.ones(len(x))
            for _ in range(2):
                sw = np.sqrt(w)
                rest = x - basis @ np.linalg.lstsq(basis * sw[:, None], x * sw, rcond=None)[0]
                hop = max(1, int(0.02 * rate))
                m = len(rest) // hop
                frame_db = 10 * np.log10(np.mean(rest[: m * hop].reshape(m, hop) ** 2, axis=1) + 1e-20)
                quiet = frame_db < np.percentile(frame_db, 10) + 6.0
                w = np.where(np.repeat(np.r_[quiet, quiet[-1:]], hop)[: len(x)], 1.0, 0.01)
            return rest
    return x


# --- Praat -----------------------------------------------------------------------------------


def praat_pitch(x: np.ndarray, rate: int, step: float = 0.005, dehum: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Praat's autocorrelation pitch (``To Pitch (ac)``), two passes (Hirst 2011): a first pass
    over 50-700 Hz sets floor = 0.75 x the 15th percentile, ceiling = 1.5 x the 85th.
    Mains hum is notched out first (:func:`without_mains_hum`; ``dehum=False``: as given).

    Returns (F0 per frame, 0 = unvoiced; frame times in seconds).
    """
    if dehum:
        x = without_mains_hum(x, rate)
    s = parselmouth.Sound(np.asarray(x, dtype=np.float64), rate)
    p = s.to_pitch_ac(time_step=step, pitch_floor=50.0, pitch_ceiling=700.0)
    f = p.selected_array["frequency"]
    v = f[f > 0]
    if len(v) >= 10:
        q15, q85 = np.percentile(v, [15, 85])
        lo, hi = max(40.0, 0.75 * q15), max(1.5 * q85, 0.75 * q15 * 1.5)
        p = s.to_pitch_ac(time_step=step, pitch_floor=lo, pitch_ceiling=min(hi, 0.45 * rate))
    return p.selected_array["frequency"], p.xs()


def on_grid(f0: np.ndarray, times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Nearest-frame resampling of an F0 track onto ``grid`` (0 outside the track)."""
    if len(f0) == 0:
        return np.zeros(len(grid))
    dt = times[1] - times[0] if len(times) > 1 else 0.005
    idx = np.round((grid - times[0]) / dt).astype(int)
    ok = (idx >= 0) & (idx < len(f0))
    out = np.zeros(len(grid))
    out[ok] = f0[idx[ok]]
    return out


def gross_pitch_error(ours: np.ndarray, ours_t: np.ndarray, ref: np.ndarray, ref_t: np.ndarray) -> tuple[float, int]:
    """Share of the frames both call voiced where the two F0s differ by more than 20 %
    (the usual GPE threshold), and how many such frames there were."""
    a = on_grid(ours, ours_t, ref_t)
    both = (a > 0) & (ref > 0)
    if not both.any():
        return float("nan"), 0
    return float(np.mean(np.abs(np.log2(a[both] / ref[both])) > math.log2(1.2))), int(both.sum())


def praat_voiced_fraction(x: np.ndarray, rate: int) -> float:
    """Voiced frames of Praat's pitch track over all its frames."""
    f, _ = praat_pitch(x, rate, 0.01)
    return float(np.mean(f > 0)) if len(f) else 0.0


def phrase_final_st(f0: np.ndarray, step: float) -> float:
    """Mean pitch movement at phrase ends (semitones): over every voiced run of at least
    200 ms that ends a phrase (followed by >= 150 ms without voicing, or the end), the median
    F0 of its last 100 ms against the median of the 150 ms before them.  Positive = final
    rises, negative = final falls; nan when no run qualifies."""
    voiced = f0 > 0
    gap = int(round(0.15 / step))
    tail, before = int(round(0.10 / step)), int(round(0.15 / step))
    moves = []
    i, n = 0, len(f0)
    while i < n:
        if not voiced[i]:
            i += 1
            continue
        j = i
        while j < n and voiced[j]:
            j += 1
        ends_phrase = j >= n or not voiced[j : j + gap].any()
        if ends_phrase and j - i >= tail + before:
            last = np.median(f0[j - tail : j])
            prev = np.median(f0[j - tail - before : j - tail])
            moves.append(12 * math.log2(last / prev))
        i = j
    return float(np.mean(moves)) if moves else float("nan")


def praat_median_f0(x: np.ndarray, rate: int) -> float:
    f, _ = praat_pitch(x, rate, 0.01)
    v = f[f > 0]
    return float(np.median(v)) if len(v) else float("nan")


def praat_cues(x: np.ndarray, rate: int) -> dict[str, float]:
    """The cues the control tests judge, all by Praat.

    ``f0`` median F0 (Hz); ``voiced`` voiced fraction; ``jitter`` local jitter and ``shimmer``
    local shimmer (Praat's voice report definitions, 75-600 Hz periods); ``hnr`` harmonicity
    (dB, cross-correlation); ``f1``/``f2`` median Burg formants over voiced frames;
    ``tilt`` pitch-corrected LTAS energy 1-5 kHz minus 0-1 kHz (dB, flatter = higher); ``duration`` (s); ``speech_s`` time above Praat's intensity midpoint;
    ``onset`` how steeply the intensity rises where syllables start (dB per 10 ms, 95th
    percentile); ``final`` the pitch movement at phrase ends (semitones, :func:`phrase_final_st`).
    All measured on the voice: mains hum is notched out first (:func:`without_mains_hum`).
    """
    x = without_mains_hum(np.asarray(x, dtype=np.float64), rate)
    s = parselmouth.Sound(x, rate)
    f, _ = praat_pitch(x, rate, 0.01, dehum=False)
    v = f[f > 0]
    out: dict[str, float] = {
        "duration": len(x) / rate,
        "voiced": float(np.mean(f > 0)) if len(f) else 0.0,
        "f0": float(np.median(v)) if len(v) else float("nan"),
        "final": phrase_final_st(f, 0.01),
    }
    lo = max(50.0, 0.75 * np.percentile(v, 15)) if len(v) >= 10 else 75.0
    hi = min(0.45 * rate, max(1.5 * np.percentile(v, 85), lo * 2)) if len(v) >= 10 else 600.0
    try:
        pp = call(s, "To PointProcess (periodic, cc)", lo, hi)
        out["jitter"] = float(call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3))
        out["shimmer"] = float(call([s, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6))
    except parselmouth.PraatError:
        out["jitter"] = out["shimmer"] = float("nan")
    try:
        h = call(s, "To Harmonicity (cc)", 0.01, lo, 0.1, 1.0)
        out["hnr"] = float(call(h, "Get mean", 0, 0))
    except parselmouth.PraatError:
        out["hnr"] = float("nan")
    # Praat's rule of thumb for the formant ceiling by kind of voice (man / woman / child)
    f0m = out["f0"]
    ceiling = 5000.0 if (not math.isfinite(f0m) or f0m < 150) else (5500.0 if f0m < 265 else 6500.0)
    ceiling = min(ceiling, 0.5 * rate - 50)
    fm = s.to_formant_burg(time_step=0.01, max_number_of_formants=5, maximum_formant=ceiling)
    pt = parselmouth.Sound(x, rate).to_pitch_ac(time_step=0.01, pitch_floor=lo, pitch_ceiling=hi)
    vt = [t for t, hz in zip(pt.xs(), pt.selected_array["frequency"]) if hz > 0]
    f1 = [fm.get_value_at_time(1, t) for t in vt]
    f2 = [fm.get_value_at_time(2, t) for t in vt]
    f1 = [a for a in f1 if math.isfinite(a)]
    f2 = [a for a in f2 if math.isfinite(a)]
    out["f1"] = float(np.median(f1)) if len(f1) >= 3 else float("nan")
    out["f2"] = float(np.median(f2)) if len(f2) >= 3 else float("nan")
    top = min(5000.0, 0.5 * rate - 1)
    # pitch-corrected LTAS: voiced periods only, so longer pauses (a slower edit) or a noise
    # floor do not flatten the measure
    try:
        ltas = call(s, "To Ltas (pitch-corrected)", lo, hi, min(5500.0, 0.5 * rate - 1), 100, 0.0001, 0.02, 1.3)
    except parselmouth.PraatError:
        ltas = call(s, "To Ltas", 100)
    lo_db = call(ltas, "Get mean", 0, 1000, "energy")
    hi_db = call(ltas, "Get mean", 1000, top, "energy")
    out["tilt"] = float(hi_db - lo_db)
    # onset sharpness: how fast the intensity rises where syllables start (Praat's intensity
    # at 5 ms steps; the 95th percentile of its 10 ms rises over frames above the floor, dB)
    fast = s.to_intensity(minimum_pitch=150.0, time_step=0.005).values[0]
    if len(fast) > 4:
        fast = np.maximum(fast, fast.max() - 60.0)  # digital silence is not a 300 dB rise
        rise = fast[2:] - fast[:-2]
        loud = fast[2:] > np.percentile(fast, 10) + 10.0
        r = rise[loud & (rise > 0)]
        out["onset"] = float(np.percentile(r, 95)) if len(r) >= 5 else float("nan")
    else:
        out["onset"] = float("nan")
    inten = s.to_intensity(minimum_pitch=75.0, time_step=0.01)
    iv = inten.values[0]
    if len(iv):
        mid = 0.5 * (np.percentile(iv, 95) + np.percentile(iv, 10))
        out["speech_s"] = float(np.sum(iv > mid) * 0.01)
    else:
        out["speech_s"] = 0.0
    return out


# --- DistillMOS ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _distillmos_model():
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    # distillmos imports torchaudio at module level but its model never calls it (only its
    # file-list command line does).  No torchaudio build matches torch 2.13, so a placeholder
    # module satisfies the import; any real use of it would raise AttributeError.
    if "torchaudio" not in sys.modules:
        try:
            import torchaudio  # noqa: F401
        except ImportError:
            sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        import contextlib
        import io

        import distillmos

        with contextlib.redirect_stdout(io.StringIO()):
            m = distillmos.ConvTransformerSQAModel()
        m.eval()
        return m
    except Exception:  # noqa: BLE001 - optional judge
        return None


def distillmos_available() -> bool:
    return _distillmos_model() is not None


#: Where DistillMOS's analysis frames fall (its STFT hops 10 ms, 160 samples at 16 kHz): the
#: same audio delayed by 3 samples scored 0.2-0.3 differently (an edit of the CMU voice: 3.61
#: against 3.82), so one score is one draw from a spread.  The judge averages four framings,
#: the audio delayed by 0, 2.5, 5 and 7.5 ms (``benchmarks/judge_noise.py`` measures both).
MOS_OFFSETS = (0, 40, 80, 120)


def distillmos_scores(x: np.ndarray, rate: int, offsets: tuple[int, ...] = MOS_OFFSETS) -> np.ndarray | None:
    """DistillMOS naturalness (1-5) of mono ``x`` delayed by each of ``offsets`` samples at
    16 kHz (one batch); None when distillmos is not installed."""
    m = _distillmos_model()
    if m is None:
        return None
    import torch

    g = math.gcd(rate, 16000)
    y = np.asarray(x, dtype=np.float64)
    if rate != 16000:
        y = scipy.signal.resample_poly(y, 16000 // g, rate // g)
    pad = max(offsets)
    batch = np.stack([np.concatenate([np.zeros(o), y, np.zeros(pad - o)]) for o in offsets]).astype(np.float32)
    with torch.no_grad():
        return m(torch.as_tensor(batch)).reshape(-1).numpy().astype(np.float64)


def distillmos_score(x: np.ndarray, rate: int, offsets: tuple[int, ...] = MOS_OFFSETS) -> float | None:
    """DistillMOS naturalness (1-5) of mono ``x``, averaged over the framings ``offsets``
    (:data:`MOS_OFFSETS`; ``(0,)``: the single score as distillmos gives it); None when
    distillmos is not installed."""
    s = distillmos_scores(x, rate, offsets)
    return None if s is None else float(np.mean(s))


# --- boundaries of an edited region --------------------------------------------------------


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equal-length signals (1.0 = same waveform)."""
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b) + 1e-20))


def boundary_match(clip, x: np.ndarray, region, segment) -> dict[str, float]:
    """How an edited ``segment`` of ``region`` joins ``clip`` (whose mono samples are ``x``)
    once spliced: ``start`` / ``end`` the correlation of the spliced result with the original
    over the 20 ms at each boundary (the 10 ms crossfade and 10 ms inside it);
    ``blend_start`` / ``blend_end`` the correlation of the two signals each crossfade blends
    (the edit's first / last 10 ms against the original's: what cancels out of phase);
    ``fade_db`` the level of the start's crossfade against the original's there (dB)."""
    from stepedit_app.audio.clip import splice

    rate = clip.rate
    y = splice(clip, region, segment.samples).samples.mean(axis=1).astype(np.float64)
    edit = segment.samples.mean(axis=1).astype(np.float64)
    n = int(0.02 * rate)
    m = n // 2
    s, e, end = region.start, region.start + segment.frames, region.end
    return {
        "start": correlation(y[s : s + n], x[s : s + n]),
        "end": correlation(y[e - n : e], x[end - n : end]),
        "blend_start": correlation(edit[:m], x[s : s + m]),
        "blend_end": correlation(edit[-m:], x[end - m : end]),
        "fade_db": float(20 * np.log10(np.sqrt(np.mean(y[s : s + m] ** 2)) / (np.sqrt(np.mean(x[s : s + m] ** 2)) + 1e-12)
                                       + 1e-12)),
    }


# --- speaker similarity ----------------------------------------------------------------------


def speaker_similarity(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int) -> float:
    """Cosine similarity of the project's speaker embeddings (:mod:`stepedit_app.audio.identity`)."""
    from stepedit_app.audio.identity import speaker_similarity as sim

    return sim(a, rate_a, b, rate_b)


# --- one edit, judged ------------------------------------------------------------------------

#: Per control, the Praat cues that name it and the direction each must move (+1 up, -1
#: down).  Judged monotonic over intensity 0.25 / 0.5 / 1.0 (each step at least as far as the
#: last, within ``CUE_TOL``) and, at 1.0, in the right direction against the input.
CONTROL_CUES: dict[str, dict[str, int]] = {
    "happy": {"f0": +1}, "excited": {"f0": +1}, "surprised": {"f0": +1},
    "sad": {"tilt": -1, "duration": +1}, "depressed": {"tilt": -1, "duration": +1},
    "angry": {"tilt": +1, "f1": +1}, "fear": {"f0": +1},
    "disgusted": {"f0": -1, "duration": +1}, "coldness": {"f0": -1}, "empathy": {"tilt": -1},
    "whisper": {"voiced": -1}, "shout": {"tilt": +1, "f0": +1}, "loudly": {"tilt": +1, "f0": +1},
    "murmur": {"tilt": -1}, "gentle": {"tilt": -1}, "child": {"f0": +1, "f2": +1}, "girl": {"f0": +1},
    "older": {"jitter": +1, "shimmer": +1}, "deeply": {"f1": -1, "f2": -1}, "serious": {"f0": -1},
    "faster": {"duration": -1}, "slower": {"duration": +1},
}
#: Cues shown beside a control's own in ``benchmarks/quality.py`` (not checked for
#: monotonicity: Praat's intensity rise and phrase-final movement are too coarse for that on
#: one clip; ``tests/robustness/test_controls_praat.py`` compares angry and happy with them).
SHOWN_CUES: dict[str, tuple[str, ...]] = {"angry": ("onset", "final"), "happy": ("final",), "fear": ("jitter",)}
#: How far a cue may step backwards between intensities and still count as monotonic
#: (Praat's own repeat-measurement spread on resynthesised speech: its median Burg formants
#: move by up to ~2 % between renders that differ only in pitch; its local jitter and shimmer
#: by +-5 % between renders that add no perturbation at all, as ratios).
CUE_TOL = {"f0": 0.01, "tilt": 0.3, "duration": 0.005, "f1": 0.02, "f2": 0.02, "jitter": 0.06,
           "shimmer": 0.06, "voiced": 0.01, "hnr": 0.3}
#: Controls allowed to change voicing (breathy, whispered) or identity.
VOICING_EXEMPT = {"whisper", "murmur"}
IDENTITY_EXEMPT = {"child", "girl", "older", "deeply", "whisper"}


def relative(cue: str, before: float, after: float) -> float:
    """A cue's change in the units the checks use (ratios for Hz/s/%, dB differences)."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return float("nan")
    if cue in ("tilt", "hnr", "voiced", "onset", "final"):
        return after - before
    return after / before - 1 if before > 0 else float("nan")
