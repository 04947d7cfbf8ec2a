"""Measuring speech: pitch, activity, loudness, spectral tilt, formants, and the cue set.

The same functions serve the engine's closed loop, the take metrics, the diff panel, ``stepedit
info`` and the tests, so "what changed" is always measured one way.

Pitch: WORLD's DIO + StoneMask is ~10x faster than Harvest but makes octave errors on some
voices.  :func:`track_pitch` keeps DIO's speed and removes its failure modes: a first pass finds
the speaker's range, a second pass searches only that range, octave jumps against a running
median are folded back, frames without periodicity (normalised autocorrelation at the found
period) are unvoiced, and voiced islands shorter than 20 ms are dropped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.signal

from stepedit_app.audio import pitch as _pitch
from stepedit_app.audio.cancel import CancelLike, checkpoint
from stepedit_app.audio.clip import Clip
from stepedit_app.audio.pitch import periodicity  # noqa: F401 - public name kept here

FRAME_PERIOD_MS = 5.0


@dataclass(frozen=True)
class PitchTrack:
    """F0 per frame (Hz; 0 where unvoiced) every ``frame_period`` ms."""

    f0: np.ndarray
    times: np.ndarray
    frame_period: float
    #: The tracker's per-frame evidence -- F0 candidate, model confidence, periodicity, level
    #: (dB) -- and its search range, kept so the same analysis can be voiced again with other
    #: settings (:func:`revoice`) without running the model a second time.
    evidence: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0

    def voiced_f0(self) -> np.ndarray:
        return self.f0[self.f0 > 0]


def _as_mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] < x.shape[0] else x.mean(axis=0)
    return np.ascontiguousarray(x)


def track_frames(samples: int, rate: int, frame_period: float = FRAME_PERIOD_MS) -> int:
    """How many frames :func:`track_pitch` gives for ``samples`` samples."""
    return max(1, int(samples / rate * 1000 / frame_period) + 1)


def track_pitch(
    x: np.ndarray,
    rate: int,
    frame_period: float = FRAME_PERIOD_MS,
    floor: float | None = None,
    ceil: float | None = None,
    min_periodicity: float | None = None,
    permissive: bool = False,
    cancel: CancelLike = None,
) -> PitchTrack:
    """Robust F0 track of a mono (or multi-channel, averaged) signal.

    See :mod:`stepedit_app.audio.pitch` for the method (SwiftF0 candidates, our voicing).

    Parameters
    ----------
    x
        Samples (any float layout; channels are averaged).  Any level, DC offset or float
        overs: each analysis block is high-passed and normalised first.
    rate
        Sample rate in Hz.
    frame_period
        Hop in milliseconds.
    floor, ceil
        Search range in Hz (default: the model's whole range, 47-1000 Hz).
    min_periodicity
        Override of the periodicity a low-confidence frame needs to count as voiced.
    permissive
        Voice every frame that is plausibly voiced (lower confidence and periodicity
        thresholds, 15 ms gaps filled).  For *resynthesis* an unvoiced vowel frame is worse
        (it comes out as noise, or unshifted) than a voiced transition, so the engine analyses
        permissively, while measurement counts only confidently voiced frames.
    cancel
        Checked between analysis blocks (see :mod:`stepedit_app.audio.cancel`).
    """
    x = _as_mono(x)
    n = track_frames(len(x), rate, frame_period)
    times = np.arange(n) * frame_period / 1000
    if len(x) < int(0.03 * rate) or not np.any(x):
        return PitchTrack(np.zeros(n), times, frame_period)
    lo = _pitch.F0_MIN if floor is None else max(_pitch.F0_MIN, float(floor))
    hi = _pitch.F0_MAX if ceil is None else min(_pitch.F0_MAX, float(ceil))
    if not hi > lo * 1.05:
        lo, hi = _pitch.F0_MIN, _pitch.F0_MAX
    f0, conf, per, lev = _pitch.candidates(x, rate, times, cancel, lo, hi)
    if min_periodicity is not None:
        per = np.where(per >= min_periodicity, np.maximum(per, 0.5), 0.0)
    evidence = (f0, conf, per, lev, lo, hi, floor is None)
    return PitchTrack(_voiced_f0(evidence, frame_period, permissive), times, frame_period, evidence)


def revoice(track: PitchTrack, permissive: bool) -> PitchTrack | None:
    """The same analysis voiced with ``permissive`` settings (see :func:`track_pitch`), from
    the evidence it kept; None when it kept none."""
    if track.evidence is None:
        return None
    return PitchTrack(_voiced_f0(track.evidence, track.frame_period, permissive), track.times, track.frame_period,
                      track.evidence)


def _voiced_f0(evidence: tuple, frame_period: float, permissive: bool) -> np.ndarray:
    f0, conf, per, lev, lo, hi, default_floor = evidence
    voiced = _pitch.decide_voicing(f0, conf, per, lev, frame_period, permissive)
    f0 = np.where(voiced, f0, 0.0)
    f0 = _pitch.smooth_octaves(f0, voiced)
    if not permissive and default_floor and voiced.sum() >= 20:
        # Measurement counts the speaker's modal register, as Praat's standard two-pass
        # practice does (Hirst 2011): weak creak and vocal fry well below the voice's usual
        # range (under 0.8 x its 25th percentile and 20 dB under its loud frames) would
        # otherwise pull the median and range down.
        q25 = float(np.percentile(f0[voiced], 25))
        loud = float(np.percentile(lev[lev > -250.0], 95)) if np.any(lev > -250.0) else 0.0
        voiced &= ~((f0 < 0.8 * q25) & (lev < loud - 20.0))
    return np.where(voiced, np.clip(f0, lo, hi), 0.0)


# --- activity, loudness ---------------------------------------------------------------------


def frame_rms_db(x: np.ndarray, rate: int, hop_s: float = 0.01, win_s: float = 0.03) -> np.ndarray:
    """RMS level per frame in dBFS (frames centred every ``hop_s``), about each frame's own
    mean (a DC offset does not count as sound).  -300 dB for digital silence."""
    x = _as_mono(x)
    hop = max(1, int(hop_s * rate))
    win = max(hop, int(win_s * rate))
    n = max(1, 1 + len(x) // hop)
    out = np.empty(n)
    # blocks of frames keep the cumulative sums short (bounded memory, no precision loss)
    per = 65536
    for f0 in range(0, n, per):
        f1 = min(n, f0 + per)
        s0 = f0 * hop - win // 2
        s1 = (f1 - 1) * hop - win // 2 + win
        core = x[max(0, s0) : max(0, min(len(x), s1))]
        left = max(0, -s0)
        seg = np.concatenate([np.zeros(left), core, np.zeros(max(0, (s1 - s0) - left - len(core)))])
        c1 = np.concatenate([[0.0], np.cumsum(seg)])
        c2 = np.concatenate([[0.0], np.cumsum(seg * seg)])
        st = np.arange(f1 - f0) * hop
        m = (c1[st + win] - c1[st]) / win
        e = (c2[st + win] - c2[st]) / win - m * m
        out[f0:f1] = 10 * np.log10(np.maximum(e, 1e-30))
    return out


def activity(x: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    """Boolean per 10 ms frame: speech (or other sound) rather than pause.

    Relative to the clip itself, so it holds at any level and over a noise floor: a frame is
    active when it is within 35 dB of the loud frames (95th percentile) *and* stands clear of
    the noise floor (10th percentile) by at least a third of the speech-to-floor distance.
    50 ms hangover, so that stop closures inside words do not count as pauses.
    """
    return activity_from_levels(frame_rms_db(x, rate, hop_s), hop_s)


def activity_from_levels(db: np.ndarray, hop_s: float = 0.01) -> np.ndarray:
    """:func:`activity` from frame levels in dBFS (:func:`frame_rms_db`), so a streaming
    reader that computed the levels block by block applies the same rule."""
    if len(db) == 0:
        return np.zeros(0, bool)
    ref = float(np.percentile(db, 95))
    floor = float(np.percentile(db, 10))
    thr = max(ref - 35.0, floor + (ref - floor) / 3.0) if ref - floor > 6.0 else floor - 1.0
    act = db > thr
    if ref <= -290.0:  # digital silence
        return np.zeros(len(db), bool)
    hang = max(1, int(0.05 / hop_s))
    act = scipy.ndimage.binary_closing(act, structure=np.ones(2 * hang + 1)) | act
    return act


def loudness_lufs(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770, via pyloudnorm) of frames x channels samples.

    Clips shorter than one 400 ms gating block are measured on a looped copy.  Channels beyond
    five (which BS.1770 does not weight) are measured as the mono downmix.  -inf for silence.
    """
    import pyloudnorm

    a = np.asarray(samples, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[1] > 5:
        a = a.mean(axis=1, keepdims=True)
    if not np.any(a):
        return float("-inf")
    need = int(0.5 * rate)
    if a.shape[0] < need:
        reps = int(math.ceil(need / a.shape[0]))
        a = np.tile(a, (reps, 1))
    meter = pyloudnorm.Meter(rate)
    data = a[:, 0] if a.shape[1] == 1 else a
    with np.errstate(divide="ignore"):
        val = float(meter.integrated_loudness(data))
    return val


# --- spectrum -------------------------------------------------------------------------------


def spectral_tilt_db(x: np.ndarray, rate: int, frames: np.ndarray | None = None, cancel: CancelLike = None) -> float:
    """Alpha ratio in dB: energy 1-5 kHz over energy 50 Hz-1 kHz (higher = flatter tilt).

    A standard vocal-effort measure (more effort, flatter source spectrum).  ``frames`` is an
    optional boolean mask per 10 ms frame selecting what to measure (e.g. voiced speech).
    """
    x = _as_mono(x)
    hop = int(0.01 * rate)
    nfft = 1 << int(math.ceil(math.log2(max(64, int(0.03 * rate)))))
    if len(x) < nfft:  # clips shorter than one analysis window
        x = np.pad(x, (0, nfft - len(x)))
    # the long-term spectrum accumulated over blocks of frames (bounded memory, cancel points)
    f = np.fft.rfftfreq(nfft, 1.0 / rate)
    w = scipy.signal.get_window("hann", nfft)
    pad = np.concatenate([np.zeros(nfft // 2), x, np.zeros(nfft)])
    n_frames = 1 + len(x) // hop
    sel = np.ones(n_frames, bool)
    if frames is not None and frames.any():
        sel = np.zeros(n_frames, bool)
        k = min(len(frames), n_frames)
        sel[:k] = frames[:k]
    acc = np.zeros(len(f))
    count = 0
    for b0 in range(0, n_frames, 2048):
        checkpoint(cancel)
        idx = np.nonzero(sel[b0 : b0 + 2048])[0] + b0
        if len(idx) == 0:
            continue
        seg = pad[idx[:, None] * hop + np.arange(nfft)[None, :]] * w[None, :]
        acc += (np.abs(np.fft.rfft(seg, axis=1)) ** 2).sum(axis=0)
        count += len(idx)
    ltas = acc / max(1, count)
    hi_top = min(5000.0, 0.45 * rate)
    lo = ltas[(f >= 50) & (f < 1000)].sum()
    hi = ltas[(f >= 1000) & (f < hi_top)].sum()
    if lo <= 0 or hi <= 0:
        return float("nan")
    return float(10 * np.log10(hi / lo))


_LPC_ORDER = 12
_MAX_BW = 500.0
_F2_MAX = 3200.0


def formant_ceiling(median_f0_hz: float) -> float:
    """LPC analysis band by kind of voice (Praat's rule of thumb): 5000 Hz for a man's voice,
    5500 Hz for a woman's, 6500 Hz for a child's, chosen from the median F0.

    Snapped to three classes rather than interpolated: the same speaker edited a few
    semitones down must be analysed with the same ceiling, or F2 labels flip between takes.
    """
    if not math.isfinite(median_f0_hz):
        return 5500.0
    if median_f0_hz < 150.0:
        return 5000.0
    if median_f0_hz < 265.0:
        return 5500.0
    return 6500.0


def _levinson(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Predictor coefficients ``a`` (frames x order; A(z) = 1 + sum a_k z^-k) from
    autocorrelations ``r`` (frames x >= order + 1), by Levinson-Durbin on all frames at once;
    ``ok`` is False for frames whose recursion is not stable (a reflection coefficient of
    magnitude >= 1, or no prediction error left)."""
    f = len(r)
    a = np.zeros((f, order))
    err = r[:, 0].copy()
    ok = err > 0
    for i in range(order):
        acc = r[:, i + 1] + np.einsum("fj,fj->f", a[:, :i], r[:, i:0:-1]) if i else r[:, 1].copy()
        k = -acc / np.where(ok, err, 1.0)
        ok &= np.abs(k) < 1.0
        prev = a[:, :i].copy()
        a[:, :i] = prev + k[:, None] * prev[:, ::-1]
        a[:, i] = k
        err = err * (1.0 - k * k)
        ok &= err > 0
    return a, ok


def formants(
    x: np.ndarray, rate: int, track: PitchTrack | None = None, max_formant: float | None = None, cancel: CancelLike = None
) -> tuple[float, float]:
    """Median F1 and F2 (Hz) over voiced, loud frames, by LPC root-finding.

    Burg/autocorrelation LPC of order 12 on the signal resampled to ``2 * max_formant``,
    pre-emphasised from 50 Hz, 25 ms Hann windows every 10 ms; roots with bandwidth under
    500 Hz; F1 in 200-1100 Hz, F2 the next one up to 3200 Hz.  NaN where nothing qualifies.
    """
    x = _as_mono(x)
    if track is None:
        track = track_pitch(x, rate)
    if max_formant is None:
        v = track.voiced_f0()
        max_formant = formant_ceiling(float(np.median(v)) if len(v) else float("nan"))
    fs = int(round(2 * min(max_formant, rate / 2)))
    order = _LPC_ORDER
    win = int(0.025 * fs)
    hop = int(0.01 * fs)
    if len(x) * fs / rate < win:
        return float("nan"), float("nan")
    pre = [1.0, -math.exp(-2 * math.pi * 50 / fs)]
    hann = np.hanning(win)
    g = math.gcd(rate, fs)
    # Blocks of 20 s (plus 0.1 s of context each side for the resampler and the filter):
    # bounded memory on long regions, a cancel point per block.  Per frame we keep only its
    # energy and, for voiced frames, its autocorrelation.
    block = int(20 * rate)
    ctx = int(0.1 * rate)
    energies, acs, ac_energy = [], [], []
    frame0 = 0  # global index (at fs) of the next frame's start
    n_total = 1 + (int(len(x) * fs / rate) - win) // hop
    for b0 in range(0, len(x), block):
        checkpoint(cancel)
        a0, a1 = max(0, b0 - ctx), min(len(x), b0 + block + ctx + int(0.03 * rate))
        seg = x[a0:a1]
        y = scipy.signal.resample_poly(seg, fs // g, rate // g) if rate != fs else seg.copy()
        y = scipy.signal.lfilter(pre, [1.0], y)
        off = int(round(a0 * fs / rate))  # global sample index of y[0]
        end_g = min(n_total, 1 + (int(min(len(x), b0 + block) * fs / rate) - 1) // hop)
        fi = np.arange(frame0, end_g)
        fi = fi[(fi * hop - off >= 0) & (fi * hop - off + win <= len(y))]
        if len(fi) == 0:
            continue
        frame0 = int(fi[-1]) + 1
        idx = (fi * hop - off)[:, None] + np.arange(win)[None, :]
        fr = y[idx] * hann[None, :]
        e = (fr**2).sum(axis=1)
        centres = (fi * hop + win / 2) / fs
        ti = np.clip(np.round(centres / (track.frame_period / 1000)).astype(int), 0, len(track.f0) - 1)
        v = track.f0[ti] > 0
        energies.append(e)
        if v.any():
            spec = np.fft.rfft(fr[v], n=2 * win, axis=1)
            acs.append(np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, : order + 1])
            ac_energy.append(e[v])
    if not energies or not acs:
        return float("nan"), float("nan")
    thr = np.percentile(np.concatenate(energies), 90) * 10 ** (-25 / 10)
    ac = np.concatenate(acs)
    ac = ac[np.concatenate(ac_energy) > thr]
    if len(ac) < 3:
        return float("nan"), float("nan")
    ac = ac[ac[:, 0] > 0]
    ac[:, 0] *= 1.0 + 1e-9
    # LPC of every frame at once (Levinson-Durbin across frames), then the roots of every
    # predictor polynomial as the eigenvalues of its companion matrix (what np.roots does,
    # batched)
    checkpoint(cancel)
    a, ok = _levinson(ac, order)
    a = a[ok]
    comp = np.zeros((len(a), order, order))
    comp[:, 0, :] = -a
    comp[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    all_roots = np.linalg.eigvals(comp) if len(a) else np.zeros((0, order), complex)
    f1s, f2s = [], []
    for roots in all_roots:
        roots = roots[np.imag(roots) > 0]
        freq = np.angle(roots) * fs / (2 * np.pi)
        bw = -np.log(np.abs(roots) + 1e-12) * fs / np.pi
        cand = np.sort(freq[(bw < _MAX_BW) & (freq > 150) & (freq < fs / 2 - 100)])
        c1 = cand[(cand >= 200) & (cand <= 1100)]
        if len(c1) == 0:
            continue
        f1 = c1[0]
        c2 = cand[(cand > f1 + 200) & (cand <= _F2_MAX)]
        if len(c2) == 0:
            continue
        f1s.append(f1)
        f2s.append(c2[0])
    if len(f1s) < 3:
        return float("nan"), float("nan")
    return float(np.median(f1s)), float(np.median(f2s))


# --- the cue set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cues:
    """What the engine steers and the diff reports, measured on one piece of audio."""

    duration_s: float
    speech_s: float  # active (non-pause) time
    pause_s: float  # inactive time between the first and last active frame
    median_f0_hz: float  # NaN when nothing is voiced
    f0_range_st: float  # 10th-90th percentile span of voiced F0, semitones
    f0_irregularity_cents: float  # RMS of F0 micro-perturbation (jitter/tremor proxy)
    voiced_fraction: float  # voiced frames / active frames
    loudness_lufs: float
    peak_dbfs: float
    tilt_db: float  # alpha ratio (1-5 kHz vs 50 Hz-1 kHz) on voiced speech
    f1_hz: float
    f2_hz: float

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def irregularity_cents(track: PitchTrack) -> float:
    """Spread (cents; robust RMS) of voiced F0 about its 35 ms moving average, within voiced
    runs: cycle-to-cycle jitter and tremor."""
    f0 = track.f0
    lab, n = scipy.ndimage.label(f0 > 0)
    res = []
    for i in range(1, n + 1):
        seg = f0[lab == i]
        if len(seg) < 9:
            continue
        c = 1200 * np.log2(seg)
        sm = scipy.ndimage.uniform_filter1d(c, 7, mode="nearest")
        res.append((c - sm)[3:-3])
    if not res:
        return float("nan")
    r = np.concatenate(res)
    # Robust spread (1.4826 x median absolute deviation = the RMS for Gaussian perturbation):
    # a few frames of a glide or a voicing edge otherwise dominate the figure.
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def f0_median_and_range(vf0: np.ndarray) -> tuple[float, float]:
    """Median F0 (Hz) and F0 range (semitones, 10th to 90th percentile) of voiced frames'
    F0 values; NaN for both with fewer than 3 frames.

    The 10th-90th percentile is robust to creak at phrase ends and to stray octave errors,
    which dominate the extremes of a male voice's distribution.
    """
    if len(vf0) < 3:
        return float("nan"), float("nan")
    st = 12 * np.log2(vf0)
    return float(np.median(vf0)), float(np.percentile(st, 90) - np.percentile(st, 10))


def measure_cues(
    audio: Clip | np.ndarray, rate: int | None = None, track: PitchTrack | None = None, cancel: CancelLike = None
) -> Cues:
    """Measure the cue set of a clip (or frames x channels samples with ``rate``).

    ``cancel`` is checked between the steps and inside the long ones (see
    :mod:`stepedit_app.audio.cancel`).
    """
    if isinstance(audio, Clip):
        samples, rate = audio.samples, audio.rate
    else:
        samples = np.asarray(audio)
        if rate is None:
            raise ValueError("rate is required for raw samples")
    x = _as_mono(samples)
    duration = len(x) / rate
    act = activity(x, rate)
    hop = 0.01
    speech_s = min(duration, float(act.sum() * hop))
    nz = np.nonzero(act)[0]
    pause_s = float(((~act[nz[0] : nz[-1] + 1]).sum() * hop) if len(nz) else 0.0)
    if track is None:
        track = track_pitch(x, rate, cancel=cancel)
    checkpoint(cancel)
    med, rng = f0_median_and_range(track.voiced_f0())
    # voiced frames mapped to the 10 ms activity grid
    step = max(1, int(round(10.0 / track.frame_period)))
    v10 = track.voiced[::step][: len(act)]
    act_n = max(1, int(act[: len(v10)].sum()))
    voiced_fraction = float((v10 & act[: len(v10)]).sum() / act_n) if len(v10) else 0.0
    lufs = loudness_lufs(samples, rate)
    peak = float(np.max(np.abs(samples))) if np.size(samples) else 0.0
    peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")
    mask = np.zeros(len(act), bool)
    mask[: len(v10)] = v10 & act[: len(v10)]
    checkpoint(cancel)
    tilt = spectral_tilt_db(x, rate, mask if mask.sum() >= 10 else act, cancel=cancel)
    checkpoint(cancel)
    f1, f2 = formants(x, rate, track, cancel=cancel)
    return Cues(
        duration_s=duration,
        speech_s=speech_s,
        pause_s=pause_s,
        median_f0_hz=med,
        f0_range_st=rng,
        f0_irregularity_cents=irregularity_cents(track),
        voiced_fraction=voiced_fraction,
        loudness_lufs=lufs,
        peak_dbfs=peak_db,
        tilt_db=tilt,
        f1_hz=f1,
        f2_hz=f2,
    )


def _safe(a: float, b: float, f) -> float:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return float("nan")
    return float(f(a, b))


def cue_deltas(before: Cues, after: Cues) -> dict[str, float]:
    """Changes from ``before`` to ``after`` in the units the engine targets.

    Keys: ``f0_st`` (median F0, semitones), ``range_st`` (F0 range, semitones), ``tempo_pct``
    (speaking tempo, % faster; from active-speech time), ``duration_pct``, ``loudness_lu``,
    ``tilt_db``, ``voiced_fraction`` (absolute change), ``f1_pct``, ``f2_pct``,
    ``irregularity_ratio``.  NaN where a side could not be measured.
    """
    return {
        "f0_st": _safe(before.median_f0_hz, after.median_f0_hz, lambda a, b: 12 * math.log2(b / a)),
        "range_st": _safe(before.f0_range_st, after.f0_range_st, lambda a, b: b - a),
        "tempo_pct": _safe(before.speech_s, after.speech_s, lambda a, b: (a / b - 1) * 100 if b > 0 else math.nan),
        "duration_pct": _safe(before.duration_s, after.duration_s, lambda a, b: (b / a - 1) * 100),
        "loudness_lu": _safe(before.loudness_lufs, after.loudness_lufs, lambda a, b: b - a),
        "tilt_db": _safe(before.tilt_db, after.tilt_db, lambda a, b: b - a),
        "voiced_fraction": _safe(before.voiced_fraction, after.voiced_fraction, lambda a, b: b - a),
        "f1_pct": _safe(before.f1_hz, after.f1_hz, lambda a, b: (b / a - 1) * 100),
        "f2_pct": _safe(before.f2_hz, after.f2_hz, lambda a, b: (b / a - 1) * 100),
        "irregularity_ratio": _safe(
            before.f0_irregularity_cents, after.f0_irregularity_cents, lambda a, b: b / a if a > 0 else math.nan
        ),
    }
