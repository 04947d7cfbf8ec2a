"""The two timelines of an A/B comparison, written once.

A is the original clip.  B is the clip as a take would make it: the original before the
take's region, the take's segment inside it, and the original after it, shifted by the
difference in length when the take changed the tempo.  :class:`ABTimeline` maps positions
between the two (identical before the region, scaled inside it, shifted after it);
:class:`TakeAudio` reads B's samples without building a copy of the clip (a 60-minute file
needs no second 700 MB buffer per take).  Playback, the views and the spectrogram all use
these, so what is shown is what is heard.
"""

from __future__ import annotations

import numpy as np


class ABTimeline:
    """Piecewise-linear map between the original (A) and take (B) timelines, in frames.

    Parameters
    ----------
    a_len
        Frames of the original.
    region
        ``(start, end)`` of the take's region in A, or None (B is A resampled to ``b_len``).
    b_len
        Frames of B (``a_len`` plus the take's change in length).
    """

    def __init__(self, a_len: int, region: tuple[int, int] | None, b_len: int) -> None:
        self.a_len, self.b_len = int(a_len), int(b_len)
        if region is None:
            self.pa = np.array([0.0, float(a_len)])
            self.pb = np.array([0.0, float(b_len)])
        else:
            s, e = int(region[0]), int(region[1])
            take_region = b_len - (a_len - (e - s))
            self.pa = np.array([0.0, s, e, float(a_len)])
            self.pb = np.array([0.0, s, s + take_region, float(b_len)])

    @classmethod
    def for_take(cls, a_len: int, region: tuple[int, int], segment_frames: int) -> ABTimeline:
        s, e = region
        return cls(a_len, (s, e), a_len + int(segment_frames) - (e - s))

    @property
    def shift(self) -> int:
        """Frames by which everything after the region moves in B."""
        return self.b_len - self.a_len

    def a_to_b(self, pos: float) -> int:
        return int(round(float(np.interp(pos, self.pa, self.pb))))

    def b_to_a(self, pos: float) -> int:
        return int(round(float(np.interp(pos, self.pb, self.pa))))

    def a_to_b_array(self, pos: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(pos, dtype=np.float64), self.pa, self.pb)

    def b_to_a_array(self, pos: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(pos, dtype=np.float64), self.pb, self.pa)


class TakeAudio:
    """Timeline B's samples (frames x channels) read from A and the take's segment."""

    def __init__(self, a: np.ndarray, segment: np.ndarray, region: tuple[int, int]) -> None:
        self.a, self.seg = a, segment
        self.s, self.e = int(region[0]), int(region[1])
        self.shift = len(segment) - (self.e - self.s)

    def __len__(self) -> int:
        return len(self.a) + self.shift

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.a.shape[1])

    def copy_into(self, out: np.ndarray, pos: int, n: int) -> None:
        """``out[:n] = B[pos:pos+n]`` (called in the audio callback: slicing only)."""
        s, mid_end = self.s, self.s + len(self.seg)
        done = 0
        while done < n:
            p = pos + done
            if p < s:
                k = min(n - done, s - p)
                out[done : done + k] = self.a[p : p + k]
            elif p < mid_end:
                k = min(n - done, mid_end - p)
                out[done : done + k] = self.seg[p - s : p - s + k]
            else:
                k = n - done
                q = p - self.shift
                out[done : done + k] = self.a[q : q + k]
            done += k

    def slice(self, start: int, end: int) -> np.ndarray:
        """A copy of ``B[start:end]`` (clamped to B)."""
        start, end = max(0, int(start)), min(len(self), int(end))
        out = np.empty((max(0, end - start), self.a.shape[1]), dtype=self.a.dtype)
        if end > start:
            self.copy_into(out, start, end - start)
        return out
