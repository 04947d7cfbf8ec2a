"""Pitch and voicing on real recordings: a neural F0 estimate, our own voicing decision.

Why this design (measured on 13 real clips plus ``tests/data`` and every degraded copy the tests
generate, against Praat's autocorrelation tracker; see ``tests/audio/test_pitch.py`` and
``benchmarks/engine_speed.py``):

* **F0 candidates** come from SwiftF0 (``swift-f0``, MIT: a 135 KB ONNX model inside the
  package, run by onnxruntime; no torch, no torchaudio).  It is 100x faster than real time on
  one core, and its octave decisions hold on quiet, noisy, band-limited and compressed speech,
  where WORLD's DIO (the previous tracker) picked the subharmonic on some voices (36 % gross
  errors on one Common Voice clip) and Harvest is itself the outlier against Praat.
* **Voicing** is ours: SwiftF0's own confidence is cautious (it finds ~60 % of the frames Praat
  voices), so a frame also counts as voiced when the model gives it some confidence *and* the
  waveform is periodic at the found period (normalised autocorrelation, as Praat's own voicing
  criterion), with an energy gate relative to the clip's noise floor and its loud frames.  Every
  threshold is relative, so the result does not depend on the recording level.
* **Level, DC and overs** are guarded here: each block is high-passed (DC and rumble removed)
  and scaled to a fixed speech level before the model sees it; digital silence stays unvoiced.
* **Bounded memory, cancel points**: the signal is processed in blocks of ``BLOCK_S`` seconds
  with enough context on each side that the result equals a whole-signal pass; ``cancel`` is
  checked between blocks.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
import scipy.ndimage
import scipy.signal

from stepedit_app.audio.cancel import CancelLike, checkpoint

MODEL_RATE = 16000
MODEL_HOP_S = 256 / MODEL_RATE  # SwiftF0 frame period (16 ms), frames centred on k * hop
BLOCK_S = 8.0  # analysis block (bounded memory; one cancel point per block)
CONTEXT_S = 0.25  # context each side of a block (the model's receptive field is ~0.18 s)
F0_MIN = 46.875  # SwiftF0's range
F0_MAX = 1000.0
SPEECH_RMS = 0.05  # level (RMS of the loud frames, ~-26 dBFS) every block is scaled to

_lock = threading.Lock()
_detector = None


def _swift():
    """The shared SwiftF0 detector (one ONNX session, one intra-op thread; thread-safe)."""
    global _detector
    with _lock:
        if _detector is None:
            from swift_f0 import SwiftF0

            _detector = SwiftF0(threads=1, spin=False)
        return _detector


def _highpass(x: np.ndarray, rate: int) -> np.ndarray:
    """Remove DC and sub-audio rumble (2nd-order Butterworth at 30 Hz, zero phase)."""
    if len(x) < 16:
        return x - np.mean(x) if len(x) else x
    sos = scipy.signal.butter(2, 30.0 / (rate / 2), btype="highpass", output="sos")
    padlen = min(len(x) - 1, 3 * int(rate / 30))
    return scipy.signal.sosfiltfilt(sos, x, padlen=padlen)


def _resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    if rate == to:
        return x
    g = math.gcd(int(rate), int(to))
    return scipy.signal.resample_poly(x, to // g, rate // g)


def _frame_rms_db(x: np.ndarray, rate: int, times: np.ndarray, win_s: float) -> np.ndarray:
    """RMS level in dB of ``win_s`` windows centred on ``times`` (seconds into ``x``)."""
    win = max(2, int(win_s * rate))
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    a = np.clip(np.round(times * rate).astype(int) - win // 2, 0, len(x))
    b = np.clip(a + win, 0, len(x))
    e = (c[b] - c[a]) / np.maximum(1, b - a)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.maximum(e, 1e-30))


def periodicity(x: np.ndarray, rate: int, f0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of each frame at its F0 period (0 where F0 is 0).

    Window: two periods or 20 ms, whichever is longer, centred on the frame.  The best of the
    period and its +-1 sample neighbours is taken (the period is rarely a whole number of
    samples at 8-16 kHz).
    """
    out = np.zeros(len(f0))
    idx = np.nonzero(f0 > 0)[0]
    if len(idx) == 0 or len(x) == 0:
        return out
    period = np.maximum(2, np.round(rate / f0[idx]).astype(int))
    win = np.maximum(2 * period, int(0.02 * rate))
    centres = np.round(times[idx] * rate).astype(int)
    wmax = int(win.max())
    pmax = int(period.max()) + 2
    off = wmax + pmax + 1
    pad = np.concatenate([np.zeros(off), x, np.zeros(2 * wmax + pmax + 1)])
    ar = np.arange(wmax)
    starts = centres - win // 2 - period // 2 + off
    best = np.full(len(idx), -1.0)
    # chunks of frames keep the (frames x window) index arrays small
    for c0 in range(0, len(idx), 512):
        sl = slice(c0, c0 + 512)
        a_idx = starts[sl, None] + ar[None, :]
        mask = ar[None, :] < win[sl, None]
        a = pad[np.clip(a_idx, 0, len(pad) - 1)] * mask
        ea = (a * a).sum(axis=1)
        for d in (-1, 0, 1):
            b = pad[np.clip(a_idx + (period[sl] + d)[:, None], 0, len(pad) - 1)] * mask
            r = (a * b).sum(axis=1) / (np.sqrt(ea * (b * b).sum(axis=1)) + 1e-20)
            best[sl] = np.maximum(best[sl], r)
    out[idx] = best
    return out


def _refine(x: np.ndarray, rate: int, f0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per-frame F0 from the waveform's instantaneous frequency (WORLD's StoneMask) around
    the model's estimate.  The model's 16 ms frames are interpolated onto the 5 ms grid, which
    smooths away cycle-to-cycle variation (jitter, tremor, fast glides); StoneMask restores it.
    A refinement more than a semitone from the estimate is not trusted (noise)."""
    import pyworld

    if not np.any(f0 > 0):
        return f0
    r = pyworld.stonemask(np.ascontiguousarray(x), np.ascontiguousarray(f0), np.ascontiguousarray(times), rate)
    ok = (f0 > 0) & np.isfinite(r) & (r > 0) & (np.abs(np.log2(np.maximum(r, 1e-9) / np.maximum(f0, 1e-9))) < 1 / 12)
    return np.where(ok, r, f0)


def _model_block(y16: np.ndarray, fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """SwiftF0 pitch and confidence of one block at 16 kHz (frames at k * 16 ms)."""
    if len(y16) < 256:
        y16 = np.pad(y16, (0, 256 - len(y16)))
    res = _swift().detect(y16.astype(np.float32), MODEL_RATE, fmin=fmin, fmax=fmax)
    return res.pitch_hz, res.confidence


def candidates(
    x: np.ndarray, rate: int, times: np.ndarray, cancel: CancelLike = None, fmin: float = F0_MIN, fmax: float = F0_MAX
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """F0 candidate, model confidence, periodicity and level (dB re the block's speech level)
    at each of ``times``, computed block by block.

    Returns ``(f0, confidence, periodicity, level_db)``; ``level_db`` is the frame's RMS level
    in dB relative to full scale *before* the block was normalised.
    """
    n = len(times)
    f0 = np.zeros(n)
    conf = np.zeros(n)
    per = np.zeros(n)
    lev = np.full(n, -300.0)
    total = len(x)
    if total == 0 or n == 0:
        return f0, conf, per, lev
    block = int(BLOCK_S * rate)
    ctx = int(CONTEXT_S * rate)
    _, hum = mains_hum(np.asarray(x[: int(20 * rate)], dtype=np.float64), rate)
    start = 0
    while start < total:
        checkpoint(cancel)
        end = min(total, start + block)
        a, b = max(0, start - ctx), min(total, end + ctx)
        seg = remove_hum(_highpass(np.asarray(x[a:b], dtype=np.float64), rate), rate, hum)
        sel = np.nonzero((times * rate >= start) & ((times * rate < end) | (end == total)))[0]
        if len(sel):
            t_local = times[sel] - a / rate
            db = _frame_rms_db(seg, rate, t_local, 0.03)
            lev[sel] = db
            loud = float(np.percentile(db, 95)) if len(db) else -300.0
            if loud > -200.0:  # not digital silence
                y16 = _resample(seg, rate, MODEL_RATE) * (SPEECH_RMS / 10 ** (loud / 20))
                p, c = _model_block(y16, fmin, fmax)
                pos = t_local / MODEL_HOP_S
                k0 = np.clip(np.floor(pos).astype(int), 0, len(p) - 1)
                k1 = np.clip(k0 + 1, 0, len(p) - 1)
                fr = np.clip(pos - k0, 0.0, 1.0)
                lp = np.log(np.maximum(p, 1.0))
                # log-linear where the neighbours agree within a semitone, else the nearer one
                agree = np.abs(lp[k0] - lp[k1]) < 0.06
                near = np.where(fr < 0.5, k0, k1)
                f0[sel] = np.where(agree, np.exp(lp[k0] * (1 - fr) + lp[k1] * fr), p[near])
                conf[sel] = c[k0] * (1 - fr) + c[k1] * fr
                fs = f0[sel]
                ps = periodicity(seg, rate, fs, t_local)
                # Subharmonic check: a signal periodic at P is also periodic at 2P, and under
                # hum or babble the model sometimes answers an octave low.  A frame whose
                # waveform is (nearly) as periodic at half the period moves up an octave.
                up = np.where((fs > 0) & (2 * fs <= fmax), 2 * fs, 0.0)
                pu = periodicity(seg, rate, up, t_local)
                move = (up > 0) & (pu >= 0.5) & (pu >= ps - 0.05)
                fs = np.where(move, up, fs)
                per[sel] = np.where(move, pu, ps)
                f0[sel] = _refine(seg, rate, fs, t_local)
        start = end
    return f0, conf, per, lev


def decide_voicing(
    f0: np.ndarray,
    conf: np.ndarray,
    per: np.ndarray,
    level_db: np.ndarray,
    frame_period_ms: float,
    permissive: bool = False,
) -> np.ndarray:
    """Voiced/unvoiced per frame from model confidence, periodicity and level.

    A frame is voiced when the model is confident (>= 0.5) and the frame is periodic at the
    found period (>= 0.3), or when it gives some confidence
    and the waveform is periodic at that period (Praat's criterion: normalised autocorrelation
    >= 0.45; 0.35 when ``permissive``).  Frames more than 40 dB under the clip's loud frames, or
    within 3 dB of its noise floor (when it has one, 10 dB under the loud frames), are unvoiced (hum and room tone in pauses are periodic but
    are not voice).  Voiced islands shorter than 20 ms are dropped, gaps shorter than 15 ms
    filled (``permissive`` only: resynthesis prefers a voiced transition to a noise burst).
    """
    if len(f0) == 0:
        return np.zeros(0, bool)
    c_lo, p_min = (0.08, 0.35) if permissive else (0.15, 0.45)
    # Even a confident frame must be somewhat periodic at its period: in babble the model is
    # sometimes confident about another talker (or an octave below), where our autocorrelation
    # at the found period is near zero.
    v = (f0 > 0) & (((conf >= 0.5) & (per >= 0.3)) | ((conf >= c_lo) & (per >= p_min)))
    finite = level_db > -250.0
    if finite.any():
        ref = float(np.percentile(level_db[finite], 95))
        floor = float(np.percentile(level_db[finite], 5))
        v &= (level_db > ref - 40.0) & finite
        if ref - floor > 10.0:  # a floor to stand clear of (a sustained tone has none)
            v &= level_db > floor + 3.0
    else:
        v[:] = False
    fp = frame_period_ms
    if permissive:
        gap = max(1, int(round(15.0 / fp)))
        filled = scipy.ndimage.binary_closing(v, structure=np.ones(gap + 1, bool))
        v = v | (filled & (f0 > 0) & (conf >= 0.02))
    lab, k = scipy.ndimage.label(v)
    if k:
        sizes = np.bincount(lab)[1:]
        small = np.nonzero(sizes < max(1, int(round(20.0 / fp))))[0] + 1
        v[np.isin(lab, small)] = False
    return v


def smooth_octaves(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Fold isolated octave jumps (a few frames an octave off their voiced run's running
    median) back; sustained changes are kept."""
    out = f0.copy()
    idx = np.nonzero(voiced)[0]
    if len(idx) < 5:
        return out
    lf = np.log2(f0[idx])
    ref = scipy.ndimage.median_filter(lf, size=min(31, len(lf) | 1), mode="nearest")
    d = lf - ref
    lf = np.where(d > 0.8, lf - 1.0, np.where(d < -0.8, lf + 1.0, lf))
    out[idx] = 2.0**lf
    return out


MAINS = (50.0, 60.0)
#: A mains line this far (dB) over its +-12 Hz neighbourhood is hum even when no multiple of
#: it stands out (hum 20 dB under a 108 Hz male voice: 50 Hz stood 32 dB clear, 100 Hz 3 dB).
LONE_LINE_DB = 20.0


def mains_hum(x: np.ndarray, rate: int) -> tuple[float, list[float]]:
    """Detect stationary mains hum: ``(base, [harmonic frequencies to notch])`` or ``(0, [])``.

    The long-term spectrum (Welch, 0.5 Hz bins over up to 20 s) is checked at every multiple
    of 50 and 60 Hz below 1.2 kHz: a harmonic counts when its line stands >= 8 dB above the
    median of its +-12 Hz neighbourhood and carries between -50 dB and 30 % of the signal's
    power.  Speech harmonics glide, so they do not make lines; hum does; a steady tone is its
    own line and is not hum.  The base whose first four multiples make the most lines wins (at
    least two, or the mains frequency alone when its line stands :data:`LONE_LINE_DB` clear: a
    low voice's harmonics fill the neighbourhoods of 100-200 Hz and hide the hum's weaker
    multiples there, but no voice holds 50 or 60 Hz to half a hertz for seconds).  Lines that
    fall silent in the recording's pauses are a voice's, not hum (a voice held at 100 or 120 Hz,
    a chant or a flat synthetic voice, makes lines at multiples of the mains frequency too):
    see :func:`_stays_in_pauses`.
    """
    n = min(len(x), int(20 * rate))
    if n < rate // 2:
        return 0.0, []
    seg = x[:n] - np.mean(x[:n])
    nper = min(n, 2 * rate)
    f, p = scipy.signal.welch(seg, rate, nperseg=nper, noverlap=nper // 2)
    df = f[1] - f[0]
    total = float(p.sum())
    best: tuple[int, float, list[float]] = (0, 0.0, [])
    quiet = _quiet_frames(seg, rate)

    @functools.cache  # the multiples of 300 Hz are lines of both mains bases: filtered once
    def in_pauses(hz: float, power: float) -> bool:
        return _stays_in_pauses(seg, rate, quiet, hz, power)

    for base in MAINS:
        lines = []
        lone = False
        for k in range(1, 25):
            fk = base * k
            if fk > min(1200.0, 0.45 * rate):
                break
            i = int(round(fk / df))
            peak = p[max(0, i - 1) : i + 2].max()
            lo, hi = max(0, i - int(12 / df)), min(len(p), i + int(12 / df) + 1)
            neigh = np.concatenate([p[lo : max(lo, i - int(2 / df))], p[i + int(2 / df) + 1 : hi]])
            line = float(p[max(0, i - 1) : i + 2].sum())
            # a line that matters (within 50 dB of the whole signal) but is not the signal
            # itself (a steady tone or vowel carries most of the energy in its own lines),
            # and that is there in the pauses too
            if (len(neigh) and peak > 10 ** 0.8 * np.median(neigh) and 1e-5 * total < line < 0.3 * total
                    and in_pauses(fk, line * df)):
                lines.append(fk)
                if k == 1 and peak > 10 ** (LONE_LINE_DB / 10) * np.median(neigh):
                    lone = True
        first = sum(1 for fk in lines if fk <= 4 * base)
        if lone:
            first = max(first, 2)  # a lone line counts as two lines
        if first >= 2 and first > best[0]:
            best = (first, base, lines)
    return best[1], best[2]


#: Hum is there in the pauses too: the energy at a hum line in the recording's quietest frames
#: stays within this many dB of the line's power in the long-term spectrum.  A voice makes
#: lines at multiples of the mains frequency as well where it holds 100 or 120 Hz (a chant, a
#: flat synthetic voice) or where its harmonics dwell on one (a low male voice at 120 Hz: a
#: 240 Hz line 20 dB over the hum's), but they fall silent when the voice does.
PAUSE_DROP_DB = 10.0


def _quiet_frames(seg: np.ndarray, rate: int) -> np.ndarray | None:
    """Indices of the quietest 15 % of ``seg``'s 50 ms frames that are not digital silence
    and follow none within 200 ms (a gated recording's pauses hold no hum to find, and
    :func:`_stays_in_pauses`'s band-pass needs that long to settle); None where it has no
    pauses to tell by (its quietest frames within 20 dB of its loudest)."""
    win = max(1, int(0.05 * rate))
    frames = len(seg) // win
    if frames < 10:
        return None
    e = np.var(seg[: frames * win].reshape(frames, win), axis=1)  # a constant (DC) is no sound
    silent = e <= 1e-10 * e.max()  # more than 100 dB under the loudest frame
    settle = 4  # frames (200 ms)
    near_silence = np.convolve(silent, np.ones(settle + 1), mode="full")[:frames] > 0
    sounding = np.flatnonzero(~near_silence)
    if len(sounding) < 10:
        return None
    q = max(1, int(0.15 * len(sounding)))
    order = sounding[np.argsort(e[sounding])]
    if np.median(e[order[-q:]]) < 100.0 * np.median(e[order[:q]]):
        return None
    return order[:q]


def _stays_in_pauses(seg: np.ndarray, rate: int, quiet: np.ndarray | None, hz: float, power: float) -> bool:
    """Whether the energy at ``hz`` (a narrow band-pass, Q 35) in the ``quiet`` frames is
    within :data:`PAUSE_DROP_DB` of ``power``, the line's power in the long-term spectrum (True
    where there are no pauses to tell by).  The loud frames would not tell: a voice's own
    harmonics pass through the band there, 15 dB over hum 30 dB under the voice."""
    if quiet is None or power <= 0:
        return True
    win = max(1, int(0.05 * rate))
    b, a = scipy.signal.iirpeak(hz, 35.0, rate)
    starts = quiet * win
    pad = int(0.2 * rate)  # the band-pass settles on each frame's surroundings
    e = []
    for s0 in starts:
        lo, hi = max(0, s0 - pad), min(len(seg), s0 + win + pad)
        y = scipy.signal.lfilter(b, a, seg[lo:hi])
        e.append(float(np.mean(y[s0 - lo : s0 - lo + win] ** 2)))
    return float(np.median(e)) > power * 10 ** (-PAUSE_DROP_DB / 10)


def remove_hum(x: np.ndarray, rate: int, lines: list[float]) -> np.ndarray:
    """Notch out the given hum lines (Q 35, zero phase)."""
    if not lines:
        return x
    sos = np.concatenate([scipy.signal.tf2sos(*scipy.signal.iirnotch(fk, 35.0, rate)) for fk in lines])
    padlen = min(len(x) - 1, int(0.3 * rate))
    return scipy.signal.sosfiltfilt(sos, x, padlen=padlen) if len(x) > 12 else x
