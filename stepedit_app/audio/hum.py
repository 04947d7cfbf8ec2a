"""Mains hum as a signal of its own: found by :func:`stepedit_app.audio.pitch.mains_hum`,
modelled here as steady sinusoids so the voice can be edited without it.

A notch filter is the usual way to take hum out, but what it removes rings on into the
pauses after every vowel (the removed band of the voice decays over a few hundred ms), and a
voice edited without its hum then carries that ringing.  Here the hum is fitted instead: at
the mains lines (:func:`hum_lines`: the first :data:`ALWAYS` multiples of the refined mains
frequency, and higher ones up to :data:`TOP_HZ` that stand out), a cosine and a sine whose
weights are solved by weighted least squares over :data:`BLOCK_S` Hann blocks (half
overlapping; their amplitudes are cross-faded, so slow drift of level and phase is followed),
listening where the voice is silent.  ``x - hum`` is the voice.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

from stepedit_app.audio.cancel import CancelLike, checkpoint

TOP_HZ = 1200.0
BLOCK_S = 4.0
ALWAYS = 8
LOW_RATE = 4000  # the fit and the frequency refinement run on a copy at this rate


def _low_rate_copy(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` resampled to :data:`LOW_RATE` (enough for mains lines under 1.5 kHz)."""
    g = math.gcd(rate, LOW_RATE)
    return scipy.signal.resample_poly(x, LOW_RATE // g, rate // g)


def hum_lines(x: np.ndarray, rate: int, base: float, lines: list[float]) -> list[float]:
    """The mains lines to model: ``lines``, the first :data:`ALWAYS` multiples of ``base`` (where
    mains hum carries its energy, found or not: a line left in the voice is cut into grains by
    the edit), and every higher multiple up to :data:`TOP_HZ` that stands 6 dB over its +-10 Hz
    surroundings on the *median* Welch spectrum of 1 s segments (intermittent speech leaves no
    lines there).  Each line modelled also takes in the voice within a fraction of a hertz of
    it, so lines that are not there are not modelled."""
    seg = np.asarray(x[: 20 * rate], dtype=np.float64)
    low = [k * base for k in range(1, ALWAYS + 1) if k * base < 0.45 * rate]
    if len(seg) < rate:
        return sorted(set(lines) | set(low))
    f, p = scipy.signal.welch(seg - seg.mean(), rate, nperseg=rate, noverlap=3 * rate // 4, average="median")
    df = f[1] - f[0]
    found = set(lines) | set(low)
    for k in range(1, int(min(TOP_HZ, 0.45 * rate) // base) + 1):
        i = int(round(k * base / df))
        ring = np.r_[p[max(0, i - int(10 / df)) : i - int(2 / df)], p[i + int(2 / df) + 1 : i + int(10 / df) + 1]]
        if len(ring) and p[i - 1 : i + 2].max() > 10**0.6 * np.median(ring):
            found.add(k * base)
    return sorted(found)


def refine_base(x: np.ndarray, rate: int, base: float, lines: list[float], span_hz: float = 0.25) -> float:
    """The mains frequency near ``base`` (within ``span_hz``, 0.005 Hz steps) whose ``lines``
    (multiples of ``base``) carry the most power over the first 10 s of ``x``: mains drifts a
    little from its nominal 50 or 60 Hz, and the 8th harmonic misses it 8 times over."""
    seg = np.asarray(x[: 10 * rate], dtype=np.float64)
    if len(seg) < rate // 2 or not lines:
        return base
    if rate > LOW_RATE and max(lines) < 1500.0:  # the lines are low: a 4 kHz copy holds them
        seg, rate = _low_rate_copy(seg, rate), LOW_RATE
    steps = np.arange(-span_hz, span_hz + 1e-9, 0.005)
    power = np.zeros(len(steps))
    for hz in lines:
        k = round(hz / base)
        lo, hi = k * (base + steps[0]), k * (base + steps[-1])
        if hi >= 0.45 * rate:
            continue
        power += np.abs(scipy.signal.zoom_fft(seg, [lo, hi], m=len(steps), fs=rate, endpoint=True)) ** 2
    return float(base + steps[int(np.argmax(power))])


def hum_component(x: np.ndarray, rate: int, lines: list[float], weight: np.ndarray | None = None,
                  cancel: CancelLike = None, base: float | None = None) -> np.ndarray:
    """The steady hum in ``x`` (1-D): sinusoids at ``lines`` (Hz), fitted by weighted least
    squares in :data:`BLOCK_S` Hann blocks (half overlapping), their complex amplitudes
    cross-faded from block to block.  ``weight`` (per sample) says where to listen: the hum is
    fitted where the voice is silent (a voice harmonic passing through a mains line would
    otherwise be taken for hum) and extends, steady, under it.  The fit runs on a 4 kHz copy
    when the lines allow (they are all under 1.5 kHz); the hum is then made at full rate
    (``base``: the lines are its multiples, and their phasors are made by multiplication)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    hz = np.asarray([f for f in lines if f < 0.45 * rate], dtype=np.float64)
    if n == 0 or len(hz) == 0:
        return np.zeros(n)
    w_in = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    xd, wd, rd = x, w_in, rate
    if rate > LOW_RATE and hz.max() < 1500.0:
        xd, rd = _low_rate_copy(x, rate), LOW_RATE
        wd = w_in[np.minimum((np.arange(len(xd)) * (rate / rd)).astype(int), n - 1)]
    dur = n / rate
    td_all = np.arange(len(xd)) / rd

    def fit(t0: float, t1: float, windowed: bool) -> np.ndarray:
        """Complex amplitudes (a - ib per line) of the block [t0, t1)."""
        lo, hi = max(0, int(math.ceil(t0 * rd))), min(len(xd), int(math.ceil(t1 * rd)))
        if hi - lo < 2 * len(hz) + 2:
            return np.full(len(hz), np.nan, complex)
        t = td_all[lo:hi]
        ph = 2 * np.pi * np.outer(t, hz)
        basis = np.hstack([np.cos(ph), np.sin(ph)])
        w = wd[lo:hi] * (np.sin(np.pi * (t - t0) / (t1 - t0)) ** 2 if windowed else 1.0)
        wb = basis * w[:, None]
        # weighted least squares by its normal equations (sinusoids over a block are nearly
        # orthogonal, so well conditioned; a tiny ridge keeps them so)
        gram = wb.T @ basis
        coef = np.linalg.solve(gram + 1e-9 * np.trace(gram) / len(gram) * np.eye(len(gram)), wb.T @ xd[lo:hi])
        return coef[: len(hz)] - 1j * coef[len(hz) :]

    t = np.arange(n) / rate
    if dur <= BLOCK_S:
        checkpoint(cancel)
        c = np.nan_to_num(fit(0.0, dur + 1.0 / rate, False))
        amp = c[:, None]
    else:
        hop = BLOCK_S / 2
        nb = int(math.floor(dur / hop)) + 2  # block b spans [(b - 1) hop, (b + 1) hop)
        cs = []
        for b in range(nb):
            checkpoint(cancel)
            cs.append(fit((b - 1) * hop, (b + 1) * hop, True))
        cs = np.array(cs)  # blocks x lines
        # a block without enough samples takes its neighbour's amplitudes
        for b in range(nb):
            if np.isnan(cs[b]).any():
                near = [k for k in (b - 1, b + 1, b - 2, b + 2) if 0 <= k < nb and not np.isnan(cs[k]).any()]
                cs[b] = cs[near[0]] if near else 0.0
        i = np.minimum((t / hop).astype(int) + 1, nb - 1)  # the block whose first half holds t
        f = np.sin(np.pi * (t - (i - 1) * hop) / BLOCK_S) ** 2  # its weight; block i - 1 has 1 - f
    out = np.zeros(n)
    mult = np.round(hz / base).astype(int) if base else None
    pk = None
    if mult is not None and np.allclose(mult * base, hz, rtol=0, atol=1e-6 * base) and np.all(np.diff(mult) > 0):
        one = np.exp(2j * np.pi * base * t)
        pk, m = np.ones(n, complex), 0
    for k in range(len(hz)):
        checkpoint(cancel)
        if pk is not None:
            while m < mult[k]:  # the k-th line's phasor, one multiple of the base at a time
                pk *= one
                m += 1
            phasor = pk
        else:
            phasor = np.exp(2j * np.pi * hz[k] * t)
        a = amp[k] if dur <= BLOCK_S else cs[i - 1, k] * (1 - f) + cs[i, k] * f
        out += np.real(a * phasor)
    return out
