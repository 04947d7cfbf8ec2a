"""Min/max peak pyramids for drawing waveforms of long files.

Sonic Visualiser's approach: the waveform view never touches raw samples when zoomed out; it
reads a min/max cache at the coarsest resolution that still gives at least one block per pixel.
Levels are block sizes ``base_block * factor**k``; a 60-minute 48 kHz file (173 M frames) has
~10 levels and builds in well under a second.
"""

from __future__ import annotations

import numpy as np


class PeakPyramid:
    """Min/max of the channel mix at several block sizes.

    Parameters
    ----------
    samples
        frames x channels (or mono) audio.  Channels are mixed (mean) for the overview: a
        voice editor shows one lane.
    base_block, factor
        Finest block size in frames and the ratio between levels.
    """

    def __init__(self, samples: np.ndarray, base_block: int = 256, factor: int = 4) -> None:
        x = np.asarray(samples)
        if x.ndim == 2:
            x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
        self.samples = np.ascontiguousarray(x, dtype=np.float32)
        self.base_block = int(base_block)
        self.factor = int(factor)
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = []
        n = len(self.samples) // self.base_block
        if n == 0:
            return
        blk = self.samples[: n * self.base_block].reshape(n, self.base_block)
        mn, mx = blk.min(axis=1), blk.max(axis=1)
        tail = self.samples[n * self.base_block :]
        if len(tail):
            mn = np.append(mn, tail.min())
            mx = np.append(mx, tail.max())
        b = self.base_block
        self.levels.append((b, mn, mx))
        while len(mn) > 2000:
            m = -(-len(mn) // self.factor)
            pad = m * self.factor - len(mn)
            mn = np.pad(mn, (0, pad), mode="edge").reshape(m, self.factor).min(axis=1)
            mx = np.pad(mx, (0, pad), mode="edge").reshape(m, self.factor).max(axis=1)
            b *= self.factor
            self.levels.append((b, mn, mx))

    @property
    def frames(self) -> int:
        return len(self.samples)

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
            seg = self.samples[start:end]
            m = len(seg) // k
            if k == 1 or m == 0:
                pos = np.arange(start, end)
                return pos, seg.copy(), seg.copy()
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
