"""Min/max peak pyramids for drawing waveforms of long files.

Sonic Visualiser's approach: the waveform view never touches raw samples when zoomed out; it
reads a min/max cache at the coarsest resolution that still gives at least one block per pixel.
Levels are block sizes ``base_block * factor**k``; a 60-minute 48 kHz file (173 M frames) has
~10 levels and builds in well under a second.

A pyramid is built either from samples in memory (:class:`PeakPyramid`) or block by block while
a long file is decoded (:class:`PeakBuilder`, used by :mod:`stepedit_app.audio.longfile`), with
the same result; its levels can be saved next to a decoded cache and loaded back.
"""

from __future__ import annotations

import numpy as np

#: Levels are reduced until the coarsest has at most this many blocks.
COARSEST_BLOCKS = 2000


def _mix(x: np.ndarray) -> np.ndarray:
    """The channel mix (mean) as float32; mono input is returned as a view."""
    if x.ndim == 2:
        return x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    return x


def _levels(mn: np.ndarray, mx: np.ndarray, base_block: int, factor: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    levels = [(base_block, mn, mx)]
    b = base_block
    while len(mn) > COARSEST_BLOCKS:
        m = -(-len(mn) // factor)
        pad = m * factor - len(mn)
        mn = np.pad(mn, (0, pad), mode="edge").reshape(m, factor).min(axis=1)
        mx = np.pad(mx, (0, pad), mode="edge").reshape(m, factor).max(axis=1)
        b *= factor
        levels.append((b, mn, mx))
    return levels


class PeakPyramid:
    """Min/max of the channel mix at several block sizes.

    Parameters
    ----------
    samples
        frames x channels (or mono) audio, in memory or file-backed (``np.memmap``).  Channels
        are mixed (mean) for the overview: a voice editor shows one lane.  The mix of the
        whole signal is kept only for in-memory multi-channel input; file-backed input is mixed
        span by span when :meth:`envelope` needs raw samples.
    base_block, factor
        Finest block size in frames and the ratio between levels.
    """

    def __init__(self, samples: np.ndarray, base_block: int = 256, factor: int = 4,
                 levels: list[tuple[int, np.ndarray, np.ndarray]] | None = None) -> None:
        x = np.asarray(samples)
        self._source = x
        file_backed = isinstance(samples, np.memmap) or _is_mapped(x)
        if x.ndim == 2 and x.shape[1] > 1 and not file_backed:
            self._mono: np.ndarray | None = np.ascontiguousarray(_mix(x), dtype=np.float32)
        elif x.ndim == 2 and x.shape[1] > 1:
            self._mono = None  # mixed per span
        else:
            m = _mix(x)
            self._mono = m if m.dtype == np.float32 else m.astype(np.float32)
        self._frames = int(x.shape[0])
        self.base_block = int(base_block)
        self.factor = int(factor)
        if levels is not None:
            self.levels = levels
            return
        self.levels = []
        n = self._frames // self.base_block
        if n == 0:
            return
        b = PeakBuilder(self.base_block, self.factor)
        step = self.base_block * 4096
        for i in range(0, self._frames, step):
            b.add(self._span(i, min(self._frames, i + step)))
        self.levels = b.levels()

    @property
    def frames(self) -> int:
        return self._frames

    @property
    def samples(self) -> np.ndarray:
        """The mono mix (computed in full on first use for file-backed multi-channel audio)."""
        if self._mono is None:
            self._mono = np.ascontiguousarray(_mix(self._source), dtype=np.float32)
        return self._mono

    def _span(self, start: int, end: int) -> np.ndarray:
        if self._mono is not None:
            return self._mono[start:end]
        return np.asarray(_mix(self._source[start:end]), dtype=np.float32)

    def envelope(self, start: int, end: int, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """About ``n_points`` (position, min, max) triples covering ``[start, end)``.

        Positions are frame indices of each point's first frame.  Spans shorter than
        ``n_points`` frames return the raw samples (min == max).
        """
        start = max(0, int(start))
        end = min(self.frames, int(end))
        n_points = max(1, int(n_points))
        if end <= start:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32)
        span = end - start
        per = span / n_points
        if per < 1 or not self.levels or per < self.base_block:
            # raw samples, decimated by min/max over groups of k frames
            k = max(1, int(per))
            seg = self._span(start, end)
            m = len(seg) // k
            if k == 1 or m == 0:
                pos = np.arange(start, end)
                return pos, np.array(seg), np.array(seg)
            g = seg[: m * k].reshape(m, k)
            mn, mx = g.min(axis=1), g.max(axis=1)
            if m * k < len(seg):  # the last, shorter group: its extremes must show too
                tail = seg[m * k :]
                mn, mx = np.append(mn, tail.min()), np.append(mx, tail.max())
            return start + np.arange(len(mn)) * k, mn, mx
        b, mn, mx = self.levels[0]
        for lb, lmn, lmx in self.levels:
            if lb <= per:
                b, mn, mx = lb, lmn, lmx
        i0 = start // b
        i1 = min(len(mn), -(-end // b))
        return np.arange(i0, i1) * b, mn[i0:i1], mx[i0:i1]

    # --- saving next to a decoded cache ---------------------------------------------------------
    def level_arrays(self) -> dict[str, np.ndarray]:
        """The levels as named arrays (for ``np.savez``)."""
        out: dict[str, np.ndarray] = {"meta": np.array([self.base_block, self.factor, len(self.levels)])}
        for i, (b, mn, mx) in enumerate(self.levels):
            out[f"b{i}"] = np.array([b])
            out[f"mn{i}"] = mn
            out[f"mx{i}"] = mx
        return out

    @classmethod
    def from_level_arrays(cls, samples: np.ndarray, arrays) -> PeakPyramid:  # noqa: ANN001 - NpzFile
        base, factor, n = (int(v) for v in arrays["meta"])
        levels = [(int(arrays[f"b{i}"][0]), arrays[f"mn{i}"], arrays[f"mx{i}"]) for i in range(n)]
        return cls(samples, base, factor, levels=levels)


def _is_mapped(x: np.ndarray) -> bool:
    base = x
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return base is not None and type(base).__name__ == "mmap"


class PeakBuilder:
    """Builds the levels of a :class:`PeakPyramid` from consecutive blocks of the mono mix, so a
    long file's pyramid is made in the same pass that decodes it (memory: ~8 bytes per
    ``base_block`` frames)."""

    def __init__(self, base_block: int = 256, factor: int = 4) -> None:
        self.base_block = int(base_block)
        self.factor = int(factor)
        self._mn: list[np.ndarray] = []
        self._mx: list[np.ndarray] = []
        self._carry = np.zeros(0, np.float32)
        self.frames = 0

    def add(self, mono: np.ndarray) -> None:
        """Append the next ``mono`` frames (1-D)."""
        x = np.asarray(mono, dtype=np.float32)
        self.frames += len(x)
        if len(self._carry):
            x = np.concatenate([self._carry, x])
        n = len(x) // self.base_block
        if n:
            blk = x[: n * self.base_block].reshape(n, self.base_block)
            self._mn.append(blk.min(axis=1))
            self._mx.append(blk.max(axis=1))
        self._carry = x[n * self.base_block :].copy()

    def levels(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The finished levels (empty for fewer than ``base_block`` frames, as PeakPyramid)."""
        if self.frames < self.base_block:
            return []
        mn = np.concatenate(self._mn) if self._mn else np.zeros(0, np.float32)
        mx = np.concatenate(self._mx) if self._mx else np.zeros(0, np.float32)
        if len(self._carry):
            mn = np.append(mn, self._carry.min())
            mx = np.append(mx, self._carry.max())
        return _levels(mn, mx, self.base_block, self.factor)

    def pyramid(self, samples: np.ndarray) -> PeakPyramid:
        """A :class:`PeakPyramid` over ``samples`` (the decoded audio) with these levels."""
        return PeakPyramid(samples, self.base_block, self.factor, levels=self.levels())
