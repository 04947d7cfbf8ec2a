"""Spectrograms for display: dB, linear / log / mel frequency, whole or chunk by chunk.

Row-major float32 (frequency rows ascending, time columns), as pyqtgraph's ``ImageItem`` wants
it with ``axisOrder='row-major'``.  :func:`iter_spectrogram` yields chunks whose columns are
exactly the columns of the one-shot result, so a long file fills its view progressively.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SCALES = ("linear", "log", "mel")


@dataclass(frozen=True)
class Spectrogram:
    db: np.ndarray  # (rows, columns) float32, C-contiguous
    freqs: np.ndarray  # centre frequency of each row, Hz
    times: np.ndarray  # time of each column's centre, s
    hop_s: float


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)


def row_frequencies(rate: int, n_fft: int, scale: str, n_bins: int) -> np.ndarray:
    """Centre frequency of each output row for a scale."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r} (allowed: {', '.join(SCALES)})")
    nyq = rate / 2
    if scale == "linear":
        return np.fft.rfftfreq(n_fft, 1 / rate) if n_bins <= 0 else np.linspace(0, nyq, n_bins)
    if scale == "log":
        return np.geomspace(40.0, nyq, n_bins)
    return _mel_to_hz(np.linspace(_hz_to_mel(40.0), _hz_to_mel(nyq), n_bins))


def _filterbank(rate: int, n_fft: int, scale: str, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows x fft-bins) weights and row frequencies: triangular filters for mel/log (so no
    energy between rows is lost), linear interpolation for linear."""
    lin = np.fft.rfftfreq(n_fft, 1 / rate)
    rows = row_frequencies(rate, n_fft, scale, n_bins)
    if scale == "linear":
        w = np.zeros((len(rows), len(lin)))
        pos = np.interp(rows, lin, np.arange(len(lin)))
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, len(lin) - 1)
        f = pos - i0
        w[np.arange(len(rows)), i0] += 1 - f
        w[np.arange(len(rows)), i1] += f
        return w, rows
    edges = np.concatenate([[rows[0] * rows[0] / rows[1]], rows, [rows[-1] * rows[-1] / rows[-2]]])
    lo, c, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (lin[None, :] - lo) / np.maximum(c - lo, 1e-9)
    down = (hi - lin[None, :]) / np.maximum(hi - c, 1e-9)
    w = np.clip(np.minimum(up, down), 0, None)
    # rows narrower than one FFT bin: take the nearest bin so no row is empty
    empty = w.sum(axis=1) == 0
    if empty.any():
        near = np.abs(lin[None, :] - rows[empty, None]).argmin(axis=1)
        w[np.nonzero(empty)[0], near] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    return w, rows


def _frames_power(x: np.ndarray, n_fft: int, hop: int, c0: int, c1: int) -> np.ndarray:
    """Power spectra (fft-bins x columns) of columns c0..c1 (column c centred at c*hop)."""
    half = n_fft // 2
    need_lo = c0 * hop - half
    need_hi = (c1 - 1) * hop + half + 1 if c1 > c0 else need_lo
    lo, hi = max(0, need_lo), min(len(x), need_hi)
    seg = np.zeros(max(0, need_hi - need_lo) + n_fft, np.float32)
    if hi > lo:
        seg[lo - need_lo : hi - need_lo] = x[lo:hi]
    idx = np.arange(c1 - c0)[:, None] * hop + np.arange(n_fft)[None, :]
    win = np.hanning(n_fft).astype(np.float32)
    spec = np.fft.rfft(seg[idx] * win, axis=1)
    return (np.abs(spec) ** 2 / (win.sum() / 2) ** 2).T


def n_columns(n_samples: int, hop: int) -> int:
    return n_samples // hop + 1


def spectrogram_db(
    x: np.ndarray,
    rate: int,
    n_fft: int = 1024,
    hop: int | None = None,
    scale: str = "linear",
    n_bins: int = 256,
    floor_db: float = -100.0,
    _cols: tuple[int, int] | None = None,
) -> Spectrogram:
    """dB spectrogram of mono ``x`` (Hann window, columns every ``hop`` samples, centred).

    A full-scale sine reads about 0 dB.  ``scale`` picks the row frequencies: ``linear`` (rows
    interpolated from the FFT bins), ``log`` or ``mel`` (triangular filters).
    """
    x = np.asarray(x, dtype=np.float32)
    hop = int(hop or n_fft // 4)
    total = n_columns(len(x), hop)
    c0, c1 = _cols if _cols is not None else (0, total)
    w, rows = _filterbank(rate, n_fft, scale, n_bins)
    p = _frames_power(x, n_fft, hop, c0, c1) if c1 > c0 else np.zeros((n_fft // 2 + 1, 0), np.float32)
    q = (w.astype(np.float32) @ p).astype(np.float32)
    db = np.maximum(10 * np.log10(q + 1e-20), floor_db).astype(np.float32)
    return Spectrogram(np.ascontiguousarray(db), rows, np.arange(c0, c1) * hop / rate, hop / rate)


def iter_spectrogram(x: np.ndarray, rate: int, chunk_s: float = 5.0, **kw) -> Iterator[tuple[int, Spectrogram]]:
    """Yield ``(first_column, chunk)`` covering the whole signal; the concatenated chunks equal
    :func:`spectrogram_db` of the whole signal."""
    n_fft = kw.get("n_fft", 1024)
    hop = int(kw.pop("hop", None) or n_fft // 4)
    total = n_columns(len(x), hop)
    step = max(1, int(chunk_s * rate) // hop)
    for c0 in range(0, total, step):
        c1 = min(total, c0 + step)
        yield c0, spectrogram_db(x, rate, hop=hop, _cols=(c0, c1), **kw)


def difference_db(a: np.ndarray, b: np.ndarray, path: np.ndarray | None = None) -> np.ndarray:
    """``b - a`` in dB on ``a``'s columns.

    ``a``, ``b``: (rows, columns) dB images with the same rows.  With a DTW ``path`` (pairs of
    column indices a -> b) each column of ``a`` is compared with the mean of the ``b`` columns
    it is aligned to; without one, ``b`` is resampled linearly onto ``a``'s length.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    na, nb = a.shape[1], b.shape[1]
    if na == 0 or nb == 0:
        return np.zeros_like(a)
    if path is not None and len(path):
        p = np.asarray(path)
        ia = np.clip(p[:, 0], 0, na - 1)
        ib = np.clip(p[:, 1], 0, nb - 1)
        acc = np.zeros_like(a)
        cnt = np.bincount(ia, minlength=na).astype(np.float32)
        np.add.at(acc.T, ia, b[:, ib].T)
        mapped = acc / np.maximum(cnt, 1)[None, :]
        # columns the path missed: nearest proportional column
        miss = cnt == 0
        if miss.any():
            j = np.minimum((np.nonzero(miss)[0] * nb) // na, nb - 1)
            mapped[:, miss] = b[:, j]
    else:
        src = np.linspace(0, nb - 1, na)
        j0 = np.floor(src).astype(int)
        j1 = np.minimum(j0 + 1, nb - 1)
        f = (src - j0).astype(np.float32)
        mapped = b[:, j0] * (1 - f) + b[:, j1] * f
    return np.ascontiguousarray(mapped - a)


def spectrogram_span(read, total: int, rate: int, c0: int, c1: int, *, n_fft: int = 1024, hop: int,
                     scale: str = "log", n_bins: int = 256) -> Spectrogram:
    """Columns ``c0..c1`` (column c centred at ``c * hop``) of the spectrogram of a signal that
    is only read in part: ``read(lo, hi)`` returns its mono samples ``[lo, hi)`` and ``total``
    is its length.  Equal to the same columns of :func:`spectrogram_db` of the whole signal
    (zero padding at its ends included), so a view can refine or replace a span of an image.
    """
    c0, c1 = max(0, int(c0)), min(n_columns(total, hop), int(c1))
    if c1 <= c0:
        return spectrogram_db(np.zeros(0, np.float32), rate, n_fft, hop, scale, n_bins, _cols=(0, 0))
    margin = -(-n_fft // hop)  # columns of context for the window
    first = max(0, c0 - margin)
    lo = first * hop
    hi = min(total, c1 * hop + n_fft)
    x = np.asarray(read(lo, hi), dtype=np.float32)
    local = spectrogram_db(x, rate, n_fft, hop, scale, n_bins, _cols=(c0 - first, c1 - first))
    return Spectrogram(local.db, local.freqs, np.arange(c0, c1) * hop / rate, local.hop_s)
