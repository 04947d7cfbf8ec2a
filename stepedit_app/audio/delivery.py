"""Delivery DSP: make a clip meet a loudness and format spec.

One implementation serves every export path (the window's Export, "Export starred", the
variations grid and the batch):

1. **Trim** leading / trailing silence below an absolute threshold (10 ms RMS frames), keeping
   a short pre- and post-roll and fading at each cut so a trim never clicks.
2. **Sample-rate conversion** with libsoxr (``soxr``, very-high-quality preset): linear phase,
   steep anti-alias filter, well kept; nothing hand-written.
3. **Loudness normalisation** to an integrated-loudness target (ITU-R BS.1770 via pyloudnorm)
   with a **true-peak limiter**: a look-ahead limiter whose detector is the oversampled signal
   (the BS.1770 true-peak estimate: 4x at 48 kHz, more at lower rates).  Where the limiter takes level off the peaks the
   integrated loudness drops a little, so make-up gain is re-applied and the chain re-run until
   the target is met (it converges from below: more input gain can never make the output
   louder than the gain added).  Only when the limiter would have to take off more than
   :data:`MAX_LIMITING_DB` does loudness land short of the target, and the report says so.
4. **Bit depth** with TPDF dither (two uniform variables, +-1 LSB) when the result is
   quantised to 16 or 24 bits; skipped where every sample already lies on the target grid
   (an untouched 16-bit source exported at 16 bits stays bit for bit).
5. **Padding** with digital silence at head and tail (added before normalisation, since
   BS.1770's gating blocks overlapping them count; left undithered, so pads are true zeros).

The gain curve of the limiter is computed offline for the whole clip, so "look-ahead" is a
window alignment rather than a delay line: the required gain (ceiling / true-peak envelope) is
taken as a forward running minimum over the attack window and then averaged over the same
window, which ramps the gain down smoothly *before* each peak and can never leave a sample
above the ceiling; recovery after a peak follows an exponential release after a short hold.

The oversampled detector is the costly part (a 4x polyphase filter over the whole file), and
most of a speech file lies far under any ceiling.  So the limiter oversamples only the blocks
whose *bound* can reach the ceiling
(:class:`_TruePeaks`): no oversampled value exceeds the interpolation filter's largest
per-phase sum of absolute taps times the largest input magnitude within the filter's reach.
Oversampling a block with enough context on either side gives the very values the whole-file
filter gives, so the gain curve and the file are the same, bit for bit, as with the whole
file oversampled.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.ndimage
import scipy.signal

from stepedit_app.audio.analysis import loudness_lufs
from stepedit_app.audio.clip import Clip
from stepedit_app.errors import StepEditError

#: True-peak oversampling: ITU-R BS.1770-4 Annex 2 oversamples 4x at 48 kHz; lower rates are
#: oversampled more (to at least 192 kHz), where 4x would miss more of the inter-sample peak.
MIN_OVERSAMPLE = 4
OVERSAMPLED_RATE = 192000
#: The limiter aims this far under the ceiling so that a meter with another interpolation
#: filter (they differ by a few hundredths of a dB on speech) also reads under it.
LIMITER_MARGIN_DB = 0.1
#: Most gain reduction the limiter may apply while chasing a loudness target.  Beyond this the
#: line is squashed audibly; it lands short of the target instead and is reported out of spec.
MAX_LIMITING_DB = 12.0
#: Loudness is normalised to within this of the target (LU) where the limiter allows.
LOUDNESS_PRECISION_LU = 0.05

LUFS_RANGE = (-40.0, -5.0)
TRUE_PEAK_RANGE = (-12.0, 0.0)
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
#: Bit depths by name -> libsndfile subtype.
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
DITHERS = ("tpdf", "none")


class DeliveryError(StepEditError):
    """A clip cannot be delivered to the spec (e.g. silence cannot be normalised)."""


@dataclass(frozen=True)
class LoudnessPreset:
    """A loudness delivery spec: integrated target, true-peak ceiling, tolerance."""

    name: str
    label: str
    lufs: float
    true_peak_db: float
    tolerance_lu: float


#: Delivery presets.  ASWG-R001 (Audio Standards Working Group, game audio): home console
#: -24 LUFS and portable -18 LUFS, each +-2 LU, true peak <= -1 dBTP.  EBU R128: -23 LUFS
#: +-0.5 LU, <= -1 dBTP.  Streaming / podcast (AES TD1004): -16 LUFS, <= -1 dBTP.
PRESETS: dict[str, LoudnessPreset] = {
    p.name: p
    for p in (
        LoudnessPreset("aswg-console", "ASWG-R001 home console", -24.0, -1.0, 2.0),
        LoudnessPreset("aswg-portable", "ASWG-R001 portable", -18.0, -1.0, 2.0),
        LoudnessPreset("ebu-r128", "EBU R128 broadcast", -23.0, -1.0, 0.5),
        LoudnessPreset("streaming", "Streaming (AES TD1004)", -16.0, -1.0, 1.0),
    )
}


@dataclass(frozen=True)
class DeliverySpec:
    """What a delivered file must be (the audio part; format and naming live in the recipe).

    Parameters
    ----------
    sample_rate
        Output rate in Hz, or None to keep the clip's.
    subtype
        ``PCM_16``, ``PCM_24``, ``FLOAT``, or None to keep the source's where the format allows.
    lufs
        Integrated-loudness target, or None for no normalisation.
    true_peak_db
        True-peak ceiling in dBTP, held by the limiter (with or without a loudness target; it
        leaves audio under the ceiling untouched).
    tolerance_lu
        How far from ``lufs`` still counts as in spec (reported, not used by the DSP).
    trim_head, trim_tail
        Remove leading / trailing silence below ``trim_threshold_db`` (dBFS, 10 ms RMS).
    head_pad_s, tail_pad_s
        Digital silence added before / after.
    dither
        ``tpdf`` or ``none``: dither when quantising to 16 or 24 bits.
    """

    sample_rate: int | None = None
    subtype: str | None = None
    lufs: float | None = None
    true_peak_db: float = -1.0
    tolerance_lu: float = 0.5
    trim_head: bool = False
    trim_tail: bool = False
    trim_threshold_db: float = -60.0
    head_pad_s: float = 0.0
    tail_pad_s: float = 0.0
    dither: str = "tpdf"

    @classmethod
    def from_preset(cls, name: str, **changes) -> DeliverySpec:
        """A spec with a preset's loudness target, ceiling and tolerance (plus ``changes``)."""
        if name not in PRESETS:
            raise DeliveryError(f"delivery preset {name!r} is unknown (allowed: {', '.join(PRESETS)})")
        p = PRESETS[name]
        return replace(cls(lufs=p.lufs, true_peak_db=p.true_peak_db, tolerance_lu=p.tolerance_lu), **changes)


@dataclass(frozen=True)
class DeliveryReport:
    """What delivery did and measured on the final samples."""

    loudness_lufs: float
    true_peak_db: float
    gain_db: float
    limiter_db: float  # largest gain reduction of the true-peak limiter (0 = untouched)
    rate: int
    subtype: str | None
    duration_s: float
    head_trim_s: float
    tail_trim_s: float
    in_spec: bool | None  # None when no loudness target was given
    note: str = ""


# --- measurement ----------------------------------------------------------------------------


def _as_frames(samples: np.ndarray) -> np.ndarray:
    a = np.asarray(samples, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def oversampling(rate: int) -> int:
    """The true-peak oversampling factor at ``rate``: 4x at 48 kHz and above, more below."""
    return max(MIN_OVERSAMPLE, math.ceil(OVERSAMPLED_RATE / rate))


def _oversampled(a: np.ndarray, factor: int) -> np.ndarray:
    # resample_poly: polyphase FIR (Kaiser-windowed sinc), delay-compensated, so up[k*n] == x[n].
    return scipy.signal.resample_poly(a, factor, 1, axis=0)


def true_peak_dbfs(samples: np.ndarray, rate: int) -> float:
    """True peak in dBTP: the peak of the oversampled signal (BS.1770-4 style; 4x at 48 kHz,
    see :func:`oversampling`).

    ``samples`` are frames x channels (or mono); ``-inf`` for digital silence.
    """
    a = _as_frames(samples)
    if a.size == 0 or not np.any(a):
        return float("-inf")
    # (Oversampled whole: a block-wise search bounded as in _TruePeaks has to oversample
    # most of a speech file to find its peak, and costs more than this.)
    peak = max(float(np.max(np.abs(_oversampled(a, oversampling(rate))))), float(np.max(np.abs(a))))
    return 20 * math.log10(peak)


def true_peak_envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per-frame true peak (linear, channels linked): the largest oversampled magnitude on
    either side of each frame, i.e. what that frame's gain scales."""
    a = _as_frames(samples)
    n = a.shape[0]
    k = oversampling(rate)
    up = np.abs(_oversampled(a, k)).max(axis=1)[: n * k]
    blk = up.reshape(n, k).max(axis=1)  # frame n and the interpolants up to n+1
    env = blk.copy()
    env[1:] = np.maximum(env[1:], blk[:-1])
    return np.maximum(env, np.abs(a).max(axis=1))


@functools.lru_cache(maxsize=16)
def _interpolator(factor: int) -> tuple[float, int]:
    """``(gain, reach)`` of the oversampling filter at ``factor``: no oversampled value between
    frames ``n`` and ``n + 1`` exceeds ``gain`` times the largest input magnitude within
    ``reach`` frames of ``n``.  Read off the filter's own impulse response (so it follows
    scipy's design): ``gain`` is the largest sum of absolute taps over the polyphase branches
    (with a margin far above rounding), ``reach`` the taps' extent plus one frame.
    """
    n = 256
    impulse = np.zeros((2 * n + 1, 1))
    impulse[n] = 1.0
    h = _oversampled(impulse, factor)[:, 0]
    taps = np.nonzero(h)[0] // factor - n
    reach = int(np.max(np.abs(taps))) + 1
    if reach >= n // 2:  # a filter longer than expected: no shortcut, oversample everything
        return math.inf, 0
    gain = max(1.0, max(float(np.abs(h[j::factor]).sum()) for j in range(factor)))
    return gain * (1.0 + 1e-6), reach


class _TruePeaks:
    """The per-frame true-peak envelope of ``a`` (:func:`true_peak_envelope`), oversampled
    block by block only where it can matter.

    :attr:`bound` is a cheap per-frame upper bound of the envelope (see
    :func:`_interpolator`).  :meth:`over` gives the exact envelope wherever the bound exceeds
    a level and 0 elsewhere: whatever compares the envelope with that level (the limiter's
    required gain, ``min(1, ceiling / envelope)``) sees what it would see with the whole
    envelope.
    """

    BLOCK = 8192  # frames oversampled at once (with context either side)

    def __init__(self, a: np.ndarray, rate: int) -> None:
        self.a = a
        self.rate = rate
        self.n = a.shape[0]
        self.k = oversampling(rate)
        gain, self.reach = _interpolator(self.k)
        self.absmax = np.abs(a).max(axis=1) if self.n else np.zeros(0)
        if math.isinf(gain):
            self.bound = np.full(self.n, math.inf)
        else:
            # env[n] depends on the oversampled values either side of frame n: frames n-1..n+1
            # plus the filter's reach.
            w = 2 * (self.reach + 1) + 1
            self.bound = scipy.ndimage.maximum_filter1d(self.absmax, w, mode="constant", cval=0.0) * gain
        self.exact = np.zeros(self.n)
        self.done = np.zeros(max(1, -(-self.n // self.BLOCK)), dtype=bool)

    def _compute_all(self) -> None:
        if not self.done.all():
            self.exact = true_peak_envelope(self.a, self.rate)
            self.done[:] = True

    def _compute_blocks(self, blocks: np.ndarray) -> None:
        todo = [int(b) for b in blocks if not self.done[b]]
        # Block by block only while that is cheaper than the whole clip at once (each block
        # carries some context and a filter set-up).
        if len(todo) > len(self.done) // 3:
            self._compute_all()
        for b in todo:
            self._compute(b)

    def _compute(self, b: int) -> None:
        if self.done[b]:
            return
        s, e = b * self.BLOCK, min(self.n, (b + 1) * self.BLOCK)
        ctx = self.reach + 2
        lo, hi = max(0, s - 1 - ctx), min(self.n, e + ctx)
        k = self.k
        up = np.abs(_oversampled(self.a[lo:hi], k)).max(axis=1)[: (hi - lo) * k]
        blk = up.reshape(hi - lo, k).max(axis=1)  # frame f and the interpolants up to f + 1
        i = s - lo
        env = blk[i : i + e - s].copy()
        if s > 0:
            env = np.maximum(env, blk[i - 1 : i - 1 + e - s])
        else:
            env[1:] = np.maximum(env[1:], blk[i : i + e - s - 1])
        self.exact[s:e] = np.maximum(env, self.absmax[s:e])
        self.done[b] = True

    def over(self, level: float) -> np.ndarray:
        """The envelope where its bound exceeds ``level`` (exact there), 0 elsewhere (where
        the envelope is certainly under ``level``)."""
        cand = self.bound > level * (1.0 - 1e-9)
        if not cand.any():
            return np.zeros(self.n)
        self._compute_blocks(np.unique(np.nonzero(cand)[0] // self.BLOCK))
        return np.where(cand, self.exact, 0.0)


# --- limiter --------------------------------------------------------------------------------


def _release(gr_db: np.ndarray, rate: int, hold_s: float, release_s: float) -> np.ndarray:
    """Gain-reduction envelope with hold and exponential release: ``e[n] = max_k<=n gr[k] *
    d^(n-k)``, computed without a Python loop as a running maximum in the log domain."""
    if hold_s > 0:
        h = 2 * (int(round(hold_s * rate)) // 2) + 1  # backward window [n-h+1, n]
        gr_db = scipy.ndimage.maximum_filter1d(gr_db, h, origin=h // 2, mode="nearest")
    pos = gr_db > 0
    if not pos.any():
        return gr_db
    a = -1.0 / max(1.0, release_s * rate)  # log of the per-frame decay
    k = np.arange(len(gr_db), dtype=np.float64)
    with np.errstate(divide="ignore"):
        lg = np.where(pos, np.log(np.where(pos, gr_db, 1.0)), -np.inf)
    out = np.exp(k * a + np.maximum.accumulate(lg - k * a))
    return np.where(np.isfinite(out), out, 0.0)


def _limiter_gain(env: np.ndarray, ceiling: float, rate: int, lookahead_s: float, hold_s: float,
                  release_s: float) -> np.ndarray:
    """Gain per frame that keeps ``env * gain`` at or under ``ceiling``, ramping down over the
    look-ahead before each peak and recovering after it."""
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
    if need.min() >= 1.0:
        return need
    L = 2 * max(1, int(round(lookahead_s * rate)) // 2) + 1  # odd, so the windows align exactly
    # The gain must be down to need[m] at m: a forward minimum over [n, n+L-1], then a
    # backward average over [m-L+1, m] (every term of which is <= need[m]).  scipy's origin:
    # negative shifts the window forward, positive backward.
    g = scipy.ndimage.minimum_filter1d(need, L, origin=-(L // 2), mode="nearest")
    gr = _release(-20 * np.log10(g), rate, hold_s, release_s)
    g = scipy.ndimage.uniform_filter1d(10 ** (-gr / 20), L, origin=L // 2, mode="nearest")
    return np.minimum(g, need)


def limit_true_peak(
    samples: np.ndarray,
    rate: int,
    ceiling_db: float,
    lookahead_s: float = 0.0015,
    hold_s: float = 0.005,
    release_s: float = 0.06,
    envelope: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Look-ahead true-peak limiter.

    Parameters
    ----------
    samples
        Frames x channels (float); channels are limited together (linked).
    ceiling_db
        The oversampled peak of the result stays at or below this (dBTP).
    lookahead_s, hold_s, release_s
        Attack ramp (the look-ahead), hold after a peak, exponential release time constant.
    envelope
        :func:`true_peak_envelope` of ``samples`` if already known (otherwise only the blocks
        that can reach the ceiling are oversampled; the result is the same).

    Returns
    -------
    samples, max_gain_reduction_db
    """
    y = _as_frames(samples)
    ceiling = 10 ** (ceiling_db / 20)
    total = np.ones(y.shape[0])
    env = _TruePeaks(y, rate).over(ceiling) if envelope is None else envelope
    for _ in range(4):  # a later pass mops up what gain interpolation let through (rarely any)
        if env.size == 0 or env.max() <= ceiling:
            break
        g = _limiter_gain(env, ceiling, rate, lookahead_s, hold_s, release_s)
        y = y * g[:, None]
        total *= g
        env = _TruePeaks(y, rate).over(ceiling)
    if env.size and env.max() > ceiling:  # a safety net that in practice never fires
        y = y * (ceiling / env.max())
        total *= ceiling / env.max()
    return y, max(0.0, float(-20 * np.log10(total.min()))) if total.size else 0.0


def normalise_loudness(
    samples: np.ndarray, rate: int, lufs: float, true_peak_db: float = -1.0
) -> tuple[np.ndarray, float, float, float]:
    """Gain to ``lufs`` integrated loudness with the true-peak limiter at ``true_peak_db``.

    Returns
    -------
    samples, loudness_lufs, gain_db, limiter_db
        The result, its measured loudness, the static gain applied, and the largest gain
        reduction the limiter made.

    Raises
    ------
    DeliveryError
        For silence (nothing above BS.1770's absolute gate).
    """
    x = _as_frames(samples)
    now = loudness_lufs(x, rate)
    if not math.isfinite(now):
        raise DeliveryError("cannot normalise silence (nothing above the -70 LUFS gate)")
    ceiling = 10 ** ((true_peak_db - LIMITER_MARGIN_DB) / 20)
    # The envelope scales with a static gain: one per clip, oversampled only where the gain
    # tried can take it to the ceiling.
    peaks = _TruePeaks(x, rate)
    gain = lufs - now
    for _ in range(8):
        lin = 10 ** (gain / 20)
        g = _limiter_gain(peaks.over(ceiling / lin) * lin, ceiling, rate, 0.0015, 0.005, 0.06)
        gr = max(0.0, float(-20 * np.log10(g.min())))
        got = now + gain if gr == 0.0 else loudness_lufs(x * (lin * g)[:, None], rate)
        err = lufs - got
        if err < LOUDNESS_PRECISION_LU or gr > MAX_LIMITING_DB:
            break
        gain += err
    y = x * (lin * g)[:, None]
    if gr > 0.0:  # verify on the result; a residual over (gain interpolation) gets another pass
        y, more = limit_true_peak(y, rate, true_peak_db - LIMITER_MARGIN_DB)
        if more > 0.0:
            gr += more
            got = loudness_lufs(y, rate)
    return y, got, gain, gr


# --- trim, resample, quantise ---------------------------------------------------------------


def trim_silence(
    samples: np.ndarray, rate: int, threshold_db: float, head: bool = True, tail: bool = True,
    preroll_s: float = 0.010, postroll_s: float = 0.050,
) -> tuple[np.ndarray, int, int]:
    """Cut leading / trailing audio whose 10 ms RMS stays below ``threshold_db`` dBFS.

    Keeps ``preroll_s`` before the first frame above the threshold and ``postroll_s`` after the
    last, with a 5 ms fade-in / 10 ms fade-out where a cut was made.  A clip that never rises
    above the threshold is returned whole.

    Returns
    -------
    samples, frames_cut_at_head, frames_cut_at_tail
    """
    a = _as_frames(samples)
    hop = max(1, int(round(0.010 * rate)))
    n = a.shape[0]
    nfr = n // hop + (1 if n % hop else 0)
    pad = np.zeros((nfr * hop - n, a.shape[1]))
    frames = np.concatenate([a, pad]).reshape(nfr, hop, a.shape[1])
    rms = np.sqrt(np.mean(frames**2, axis=(1, 2)))
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(np.maximum(rms, 1e-12))
    above = np.nonzero(db > threshold_db)[0]
    if len(above) == 0 or (not head and not tail):
        return a, 0, 0
    start = max(0, above[0] * hop - int(round(preroll_s * rate))) if head else 0
    end = min(n, (above[-1] + 1) * hop + int(round(postroll_s * rate))) if tail else n
    out = a[start:end].copy()
    if start > 0:
        f = min(len(out), int(round(0.005 * rate)))
        out[:f] *= (0.5 - 0.5 * np.cos(np.pi * (np.arange(f) + 0.5) / f))[:, None]
    if end < n:
        f = min(len(out), int(round(0.010 * rate)))
        out[len(out) - f :] *= (0.5 + 0.5 * np.cos(np.pi * (np.arange(f) + 0.5) / f))[:, None]
    return out, start, n - end


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Sample-rate conversion with libsoxr's very-high-quality preset (frames x channels)."""
    if new_rate == rate:
        return _as_frames(samples)
    import soxr  # imported here: only delivery with a rate change needs it

    return np.asarray(soxr.resample(_as_frames(samples), rate, new_rate, quality="VHQ"), dtype=np.float64)


def quantise(samples: np.ndarray, bits: int, dither: str = "tpdf", seed: int = 0) -> np.ndarray:
    """Round to ``bits``-bit PCM steps (as floats that libsndfile writes exactly).

    TPDF dither (the difference of two uniform variables, +-1 LSB peak) decorrelates the
    rounding error from the signal; it is skipped when every sample is already on the grid.
    """
    a = _as_frames(samples)
    scale = float(2 ** (bits - 1))
    scaled = a * scale
    if dither == "tpdf" and not np.array_equal(scaled, np.round(scaled)):
        rng = np.random.default_rng(seed)
        scaled = scaled + (rng.random(a.shape) - rng.random(a.shape))
    q = np.clip(np.round(scaled), -scale, scale - 1)
    return q / scale


# --- the chain ------------------------------------------------------------------------------


def deliver(clip: Clip, spec: DeliverySpec, seed: int = 0) -> tuple[Clip, DeliveryReport]:
    """Run ``clip`` through trim, resample, loudness + true-peak limiter, dither and padding.

    ``seed`` seeds the dither so a delivery is reproducible (the batch derives it from the
    line's hash, so a local run and a cluster run write identical files).  The returned clip
    carries the output subtype (None keeps the source's); write it with
    :func:`stepedit_app.audio.io.write_clip`.
    """
    rate = spec.sample_rate or clip.rate
    x = _as_frames(clip.samples)
    cut_head = cut_tail = 0
    if spec.trim_head or spec.trim_tail:
        x, cut_head, cut_tail = trim_silence(x, clip.rate, spec.trim_threshold_db, spec.trim_head, spec.trim_tail)
    x = resample(x, clip.rate, rate)
    # Pads go on before normalising: they are part of the delivered file and BS.1770's gating
    # blocks that overlap them count towards its integrated loudness.
    heads = int(round(spec.head_pad_s * rate))
    tails = int(round(spec.tail_pad_s * rate))
    body = slice(heads, heads + x.shape[0])
    if heads or tails:
        x = np.concatenate([np.zeros((heads, x.shape[1])), x, np.zeros((tails, x.shape[1]))])
    gain_db, limiter_db, note = 0.0, 0.0, ""
    if spec.lufs is not None:
        x, got, gain_db, limiter_db = normalise_loudness(x, rate, spec.lufs, spec.true_peak_db)
        if spec.lufs - got > spec.tolerance_lu:
            note = f"loudness {got:.1f} LUFS short of {spec.lufs:g}: the limiter would exceed {MAX_LIMITING_DB:g} dB"
    else:
        # No loudness target, but the ceiling still holds (resampling alone can create
        # inter-sample overs, and PCM would clip them)
        x, limiter_db = limit_true_peak(x, rate, spec.true_peak_db - LIMITER_MARGIN_DB)
    subtype = spec.subtype or clip.subtype
    bits = {"PCM_16": 16, "PCM_24": 24}.get(subtype or "")
    if bits is not None:
        x = x.copy()
        x[body] = quantise(x[body], bits, spec.dither, seed)  # pads stay digital silence
    out = Clip(x.astype(np.float32), rate, None, subtype)
    loud = loudness_lufs(out.samples, rate)
    tp = true_peak_dbfs(out.samples, rate)
    in_spec = None
    if spec.lufs is not None:
        in_spec = bool(abs(loud - spec.lufs) <= spec.tolerance_lu and tp <= spec.true_peak_db)
    report = DeliveryReport(
        loudness_lufs=loud,
        true_peak_db=tp,
        gain_db=gain_db,
        limiter_db=limiter_db,
        rate=rate,
        subtype=subtype,
        duration_s=out.duration,
        head_trim_s=cut_head / clip.rate,
        tail_trim_s=cut_tail / clip.rate,
        in_spec=in_spec,
        note=note,
    )
    return out, report
