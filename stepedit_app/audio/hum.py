"""Mains hum as a signal of its own: found by :func:`stepedit_app.audio.pitch.mains_hum`,
modelled here as steady sinusoids so the voice can be edited without it.

A notch filter is the usual way to take hum out, but what it removes rings on into the
pauses after every vowel (the removed band of the voice decays over a few hundred ms), and a
voice edited without its hum then carries that ringing.  Here the hum is fitted instead: at
every multiple of the (refined) mains frequency up to 1.2 kHz, a cosine and a sine whose
weights are solved by least squares over 1 s Hann blocks (half overlapping, so slow drift of
level and phase is followed); the blocks overlap-add to the hum, and ``x - hum`` is the voice.
A voice partial only leaks in while it sits within about a hertz of a mains line.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from stepedit_app.audio.cancel import CancelLike, checkpoint

TOP_HZ = 1200.0
BLOCK_S = 4.0
ALWAYS = 8


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
                  cancel: CancelLike = None) -> np.ndarray:
    """The steady hum in ``x`` (1-D): sinusoids at ``lines`` (Hz), fitted by least squares in
    :data:`BLOCK_S` Hann blocks (half overlapping) and overlap-added.  ``weight`` (per sample)
    says where to listen: the hum is fitted where the voice is silent (a voice harmonic passing
    through a mains line would otherwise be taken for hum) and extends, steady, under it."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    hz = np.asarray([f for f in lines if f < 0.45 * rate])
    size = max(2, int(BLOCK_S * rate))
    if n == 0 or len(hz) == 0:
        return np.zeros(n)
    if n <= size:
        starts, size = [0], n
    else:
        hop = size // 2
        starts = list(range(-hop, n, hop))
    win = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2  # halves overlap-add to 1
    out = np.zeros(n)
    wsum = np.zeros(n)
    for b in starts:
        checkpoint(cancel)
        lo, hi = max(0, b), min(n, b + size)
        if hi - lo < 8:
            continue
        t = np.arange(lo, hi) / rate
        ph = 2 * np.pi * np.outer(t, hz)
        basis = np.hstack([np.cos(ph), np.sin(ph)])
        w = win[lo - b : hi - b] if len(starts) > 1 else np.ones(hi - lo)
        sw = np.sqrt(w if weight is None else w * weight[lo:hi])[:, None]
        coef = np.linalg.lstsq(basis * sw, x[lo:hi] * sw[:, 0], rcond=None)[0]
        out[lo:hi] += w * (basis @ coef)
        wsum[lo:hi] += w
    return out / np.maximum(wsum, 1e-9)
