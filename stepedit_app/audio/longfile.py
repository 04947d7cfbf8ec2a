"""Files too long to hold in memory: a streaming summary (``stepedit info``) and a file-backed
open path for the window.

Both decode the file once, block by block (:func:`stepedit_app.audio.io.iter_blocks`), so memory
stays bounded whatever the length: a 3-hour 48 kHz file is ~2 GB of float32 samples.

* :func:`summarize_file` measures what ``stepedit info`` shows in one pass: peak, BS.1770
  integrated loudness (K-weighting with pyloudnorm's filter coefficients, run as a stateful
  filter across blocks, then the standard 400 ms / 75 % overlap blocks with the absolute and
  relative gates, exactly as pyloudnorm computes them), speech activity (the 10 ms frame levels
  of :func:`stepedit_app.audio.analysis.activity`, thresholded the same way over the whole
  file), and pitch.  Pitch tracking costs ~100x more than the rest, so on a file longer than
  :data:`PITCH_EXCERPTS` x :data:`PITCH_EXCERPT_S` seconds (2 minutes) the median pitch, range
  and voiced fraction are measured on that many evenly spaced excerpts, collected during the
  same pass; shorter files are tracked whole, exactly as :func:`measure_cues` does.
* :func:`open_clip` gives the window a :class:`~stepedit_app.audio.clip.Clip` and its
  :class:`~stepedit_app.audio.peaks.PeakPyramid`.  Up to ``in_memory_limit`` bytes of decoded
  audio the samples are read into memory; above it the file is decoded once into a float32
  cache file in the user's cache folder while the peak pyramid is built in the same pass, and
  the clip's samples are that file mapped read-only (``np.memmap``): ``samples``, ``slice``,
  playback and export keep working, and only the pages touched are read.  The cache is keyed
  by the source's path, size and modification time, reused on the next open, and pruned to
  :data:`CACHE_LIMIT_BYTES` (least recently used first).

Both accept a ``progress`` callback (fraction 0..1, called once per block from the calling
thread) and a ``cancelled`` callable polled once per block; cancelling raises
:class:`~stepedit_app.errors.Cancelled` and leaves no partial cache file behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stepedit_app.audio.clip import Clip
from stepedit_app.audio.io import (
    BLOCK_FRAMES,
    _check_path,
    _check_rate,
    _open_sound,
    _resolved,
    fs_path,
    iter_blocks,
)
from stepedit_app.audio.peaks import PeakBuilder, PeakPyramid
from stepedit_app.errors import AudioInputError, Cancelled
from stepedit_app.interrupts import deferred

ProgressFn = Callable[[float], None]
CancelledFn = Callable[[], bool]

#: Pitch on long files: this many evenly spaced excerpts of this length (2 minutes in all),
#: tracked at (at most) this rate: voice pitch needs no more, and it is 3x faster than 48 kHz.
PITCH_EXCERPTS = 24
PITCH_EXCERPT_S = 5.0
PITCH_RATE = 16000

#: Decoded size (float32 bytes) above which :func:`open_clip` maps a cache file instead of
#: reading into memory: 512 MiB is ~46 minutes of 48 kHz mono.
IN_MEMORY_LIMIT_BYTES = 512 * 2**20

#: The decoded-audio cache is pruned to this size after each new entry (LRU).
CACHE_LIMIT_BYTES = 16 * 2**30

_CACHE_VERSION = 1


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/stepedit`` (``~/.cache/stepedit``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stepedit"


# --- sums of squares between fixed positions ----------------------------------------------------


class _SquareSums:
    """Running sums of squares of a streamed signal, read at chosen sample positions.

    Loudness blocks (400 ms every 100 ms) and activity frames (30 ms every 10 ms) are both
    differences of the cumulative energy at two positions; keeping the cumulative value only
    at those positions costs a few bytes per 10 ms instead of 8 bytes per sample.
    """

    def __init__(self, channels: int) -> None:
        self.carry = np.zeros(channels)
        self.pos: list[np.ndarray] = []
        self.seg: list[np.ndarray] = []

    def add(self, sq: np.ndarray, start: int, positions: np.ndarray) -> None:
        """``sq`` (frames x channels) starts at ``start``; ``positions`` (sorted, unique) lie in
        ``(start, start + len(sq)]``... or ``[start, start + len(sq))``: both are handled."""
        if len(positions) == 0:
            self.carry += sq.sum(axis=0)
            return
        local = positions - start
        head = sq[: local[0]].sum(axis=0) + self.carry
        if local[0] >= len(sq):
            self.pos.append(positions[:1])
            self.seg.append(head[None, :])
            self.carry = np.zeros_like(self.carry)
            return
        parts = np.add.reduceat(sq, local, axis=0)
        self.pos.append(positions)
        self.seg.append(np.concatenate([head[None, :], parts[:-1]], axis=0))
        self.carry = parts[-1].copy()

    def cumulative(self, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions, S(positions), S(total))`` with S the energy before each position."""
        if self.pos:
            pos = np.concatenate(self.pos)
            cum = np.cumsum(np.concatenate(self.seg, axis=0), axis=0)
            end = (cum[-1] if len(cum) else 0.0) + self.carry
        else:
            pos = np.zeros(0, np.int64)
            cum = np.zeros((0, len(self.carry)))
            end = self.carry.copy()
        return pos, cum, end

    @staticmethod
    def at(pos: np.ndarray, cum: np.ndarray, end: np.ndarray, total: int, want: np.ndarray) -> np.ndarray:
        """S at ``want`` (clamped to [0, total]) from what :meth:`cumulative` returned."""
        w = np.clip(want, 0, total)
        out = np.zeros((len(w), cum.shape[1] if cum.ndim == 2 else len(end)))
        idx = np.searchsorted(pos, w)
        found = (idx < len(pos)) & (pos[np.minimum(idx, max(0, len(pos) - 1))] == w) if len(pos) else np.zeros(len(w), bool)
        out[found] = cum[idx[found]]
        out[w >= total] = end
        return out


def _sorted_unique(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = np.sort(np.concatenate([a, b]), kind="stable")
    return x[np.concatenate([[True], np.diff(x) != 0])] if len(x) else x


def _loudness_bounds(j: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pyloudnorm's gating-block bounds, computed with the same float operations."""
    jf = j.astype(np.float64)
    lo = (0.4 * (jf * 0.25) * rate).astype(np.int64)
    hi = (0.4 * (jf * 0.25 + 1) * rate).astype(np.int64)
    return lo, hi


def _loudness_blocks(total: int, rate: int) -> int:
    t = total / rate
    return int(np.round((t - 0.4) / (0.4 * (1.0 - 0.75)))) + 1


def _k_weighting(rate: int) -> tuple[np.ndarray, float]:
    """pyloudnorm's K-weighting stages as one second-order-sections filter and its gain."""
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    sos, gain = [], 1.0
    for stage in meter._filters.values():  # the BS.1770 high shelf and high pass, in order
        b, a = np.asarray(stage.b, float), np.asarray(stage.a, float)
        sos.append(np.concatenate([b / a[0], a / a[0]]))
        gain *= stage.passband_gain
    return np.array(sos), gain


# --- the summary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSummary:
    """What ``stepedit info`` reports about a file (NaN where a figure does not exist)."""

    path: Path
    rate: int
    channels: int
    frames: int
    subtype: str
    format: str
    loudness_lufs: float
    peak_dbfs: float
    speech_s: float
    median_f0_hz: float
    f0_range_st: float
    voiced_fraction: float
    #: Seconds of audio the pitch figures were measured on, and in how many excerpts (1 and
    #: the whole duration when the file was tracked whole).
    pitch_sample_s: float
    pitch_excerpts: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate

    @property
    def speech_ratio(self) -> float:
        return self.speech_s / self.duration_s if self.frames else 0.0

    @property
    def pitch_whole(self) -> bool:
        return self.pitch_excerpts <= 1 and self.pitch_sample_s >= self.duration_s - 1e-9

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


class _Excerpts:
    """The mono audio the pitch is measured on: the whole file when short, else evenly spaced
    excerpts, copied out of the blocks as they stream past."""

    def __init__(self, frames: int, rate: int) -> None:
        n = int(round(PITCH_EXCERPT_S * rate))
        budget = PITCH_EXCERPTS * n
        if 0 < frames <= budget:
            self.spans = [(0, frames)]
        elif frames <= 0:  # length unknown: the first two minutes
            self.spans = [(0, budget)]
        else:
            starts = [int(round((i + 0.5) * frames / PITCH_EXCERPTS - n / 2)) for i in range(PITCH_EXCERPTS)]
            self.spans = [(max(0, s), min(frames, max(0, s) + n)) for s in starts]
        self.bufs = [np.zeros(e - s) for s, e in self.spans]
        self.filled = [0] * len(self.spans)

    def add(self, start: int, mono: np.ndarray) -> None:
        end = start + len(mono)
        for i, (s, e) in enumerate(self.spans):
            a, b = max(s, start), min(e, end)
            if a < b:
                self.bufs[i][a - s : b - s] = mono[a - start : b - start]
                self.filled[i] = max(self.filled[i], b - s)

    def parts(self) -> list[tuple[int, np.ndarray]]:
        return [(s, buf[:f]) for (s, _), buf, f in zip(self.spans, self.bufs, self.filled) if f > 0]


class _FrameLevels:
    """:func:`stepedit_app.audio.analysis.frame_rms_db` of a streamed signal, frame for frame
    as over the whole signal: each block is measured with the samples around it that its frames
    reach into (frames are local, so the same function gives the same levels)."""

    def __init__(self, rate: int, hop_s: float = 0.01, win_s: float = 0.03) -> None:
        from stepedit_app.audio.analysis import frame_rms_db

        self._fn = frame_rms_db
        self.rate, self.hop_s, self.win_s = rate, hop_s, win_s
        self.hop = max(1, int(hop_s * rate))
        self.win = max(self.hop, int(win_s * rate))
        self.half = self.win // 2
        self.tail = np.zeros(0)
        self.tail_start = 0  # global index of tail[0], a multiple of hop
        self.next_k = 0  # first frame not yet measured
        self.levels: list[np.ndarray] = []

    #: Samples measured per call: the function's temporaries stay small enough for the
    #: allocator to reuse (larger ones are returned to the OS and faulted in again, which cost
    #: more system time than the measurement itself).
    CHUNK = 1 << 15

    def add(self, mono: np.ndarray, end_of_signal: bool = False) -> None:
        n = len(mono)
        for i in range(0, n, self.CHUNK):
            self._add(mono[i : i + self.CHUNK], end_of_signal and i + self.CHUNK >= n)
        if n == 0:
            self._add(mono, end_of_signal)

    def _add(self, mono: np.ndarray, end_of_signal: bool = False) -> None:
        seg = np.concatenate([self.tail, mono]) if len(self.tail) else np.asarray(mono, np.float64)
        g0, g1 = self.tail_start, self.tail_start + len(seg)
        hop, half, win = self.hop, self.half, self.win
        db = self._fn(seg, self.rate, self.hop_s, self.win_s)
        k = g0 // hop + np.arange(len(db))
        ok = k >= self.next_k
        if g0 > 0:  # frames reaching before the segment would see zeros that are not there
            ok &= k * hop - half >= g0
        if end_of_signal:
            ok &= k < 1 + g1 // hop
        else:
            ok &= k * hop - half + win <= g1
        if ok.any():
            self.levels.append(db[ok])
            self.next_k = int(k[ok][-1]) + 1
        t = max(0, ((self.next_k * hop - half) // hop) * hop)
        self.tail = seg[t - g0 :].astype(np.float64, copy=True)
        self.tail_start = t

    def finish(self) -> np.ndarray:
        self.add(np.zeros(0), end_of_signal=True)
        return np.concatenate(self.levels) if self.levels else np.zeros(0)


def summarize_file(
    path: str | os.PathLike,
    *,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> FileSummary:
    """Measure a file of any length in one streaming pass (memory: a few MB per hour).

    Parameters
    ----------
    path
        Any file :func:`~stepedit_app.audio.io.read_clip` accepts.
    progress, cancelled
        See the module docstring.

    Returns
    -------
    FileSummary
        Loudness, peak and speech activity over the whole file; pitch over the whole file when
        it is at most 2 minutes long, else over :data:`PITCH_EXCERPTS` evenly spaced excerpts
        of :data:`PITCH_EXCERPT_S` seconds (``pitch_sample_s`` and ``pitch_excerpts`` say so).

    Raises
    ------
    AudioInputError
        The same lines as :func:`~stepedit_app.audio.io.read_clip`.
    """
    p = _check_path(path)
    with _open_sound(p) as f:
        rate, channels, subtype, fmt = int(f.samplerate), int(f.channels), str(f.subtype), str(f.format)
        _check_rate(p, rate)
        # the DSP modules only once the file is known to be usable (a bad path answers at once)
        import scipy.signal

        from stepedit_app.audio.analysis import (
            activity_from_levels,
            f0_median_and_range,
            loudness_lufs,
            track_pitch,
        )

        expected = max(0, int(f.frames))
        lchan = channels if channels <= 5 else 1  # BS.1770 weights five channels; more: the mix
        sos, kgain = _k_weighting(rate)
        zi = np.zeros((sos.shape[0], 2, lchan))
        loud = _SquareSums(lchan)
        frame = _FrameLevels(rate)
        hop = frame.hop
        excerpts = _Excerpts(expected, rate)
        peak = 0.0
        total = 0
        short_keep: list[np.ndarray] = []  # raw blocks of files under 0.5 s (loudness loops them)
        for start, blk in iter_blocks(f, p):
            n = len(blk)
            end = start + n
            peak = max(peak, float(np.max(np.abs(blk))))
            mono = blk[:, 0].astype(np.float64) if channels == 1 else blk.mean(axis=1, dtype=np.float64)
            excerpts.add(start, mono)
            if start < rate:
                short_keep.append(blk.copy())
            # loudness: K-weighted energy at the gating-block bounds inside this block
            lx = blk.astype(np.float64) if 1 < channels == lchan else mono[:, None]
            y, zi = scipy.signal.sosfilt(sos, lx, axis=0, zi=zi)
            j0 = max(0, int(start / (0.1 * rate)) - 6)
            j1 = int(end / (0.1 * rate)) + 2
            lo, hi = _loudness_bounds(np.arange(j0, j1), rate)
            lpos = _sorted_unique(lo, hi)
            lpos = lpos[(lpos >= start) & (lpos < end)]
            loud.add(np.square(y), start, lpos)
            # activity: the 10 ms frame levels of the mono mix
            frame.add(mono)
            total = end
            if progress is not None and expected:
                progress(min(1.0, end / expected))
            if cancelled is not None and cancelled():
                raise Cancelled()
    if total == 0:
        raise AudioInputError(f"{p}: contains no audio (0 frames)")
    # loudness
    if total < int(0.5 * rate):
        lufs = loudness_lufs(np.concatenate(short_keep)[:total], rate)
    else:
        pos, cum, endv = loud.cumulative(total)
        nb = _loudness_blocks(total, rate)
        lo, hi = _loudness_bounds(np.arange(nb), rate)
        z = (_SquareSums.at(pos, cum, endv, total, hi) - _SquareSums.at(pos, cum, endv, total, lo)) / (0.4 * rate)
        z *= kgain**2
        lufs = _gated_loudness(z.T, lchan)
    # activity
    db = frame.finish()
    act = activity_from_levels(db)
    duration = total / rate
    speech_s = min(duration, float(act.sum() * 0.01))
    # pitch: the whole file or the excerpts
    voiced: list[np.ndarray] = []
    v_act = 0
    act_n = 0
    sample_frames = 0
    parts = excerpts.parts()
    whole = len(parts) == 1 and parts[0][0] == 0 and len(parts[0][1]) >= total
    for s, x in parts:
        if whole or rate <= PITCH_RATE:
            tr = track_pitch(x, rate)  # exactly what measure_cues does
        else:
            g = math.gcd(PITCH_RATE, rate)
            tr = track_pitch(scipy.signal.resample_poly(x, PITCH_RATE // g, rate // g), PITCH_RATE)
        voiced.append(tr.voiced_f0())
        step = max(1, int(round(10.0 / tr.frame_period)))
        v10 = tr.voiced[::step]
        a0 = int(round(s / hop))
        a = act[a0 : a0 + len(v10)]
        v_act += int((v10[: len(a)] & a).sum())
        act_n += int(a.sum())
        sample_frames += len(x)
        if cancelled is not None and cancelled():
            raise Cancelled()
    n_parts = len(parts)
    del excerpts, parts
    med, rng = f0_median_and_range(np.concatenate(voiced) if voiced else np.zeros(0))
    return FileSummary(
        path=_resolved(p),
        rate=rate,
        channels=channels,
        frames=total,
        subtype=subtype,
        format=fmt,
        loudness_lufs=float(lufs),
        peak_dbfs=20 * math.log10(peak) if peak > 0 else float("-inf"),
        speech_s=speech_s,
        median_f0_hz=med,
        f0_range_st=rng,
        voiced_fraction=float(v_act / max(1, act_n)),
        pitch_sample_s=sample_frames / rate,
        pitch_excerpts=1 if whole else n_parts,
    )


def _gated_loudness(z: np.ndarray, channels: int) -> float:
    """BS.1770-4 integrated loudness from per-channel block mean squares ``z`` (channels x
    blocks), gated as pyloudnorm gates it (absolute -70 LKFS, relative -10 LU)."""
    g = np.array([1.0, 1.0, 1.0, 1.41, 1.41])[:channels]
    with np.errstate(divide="ignore", invalid="ignore"):
        lj = -0.691 + 10.0 * np.log10((g[:, None] * z).sum(axis=0))
        above = lj >= -70.0
        if not above.any():
            return float("-inf")
        zr = z[:, above].mean(axis=1)
        gamma_r = -0.691 + 10.0 * np.log10(float((g * zr).sum())) - 10.0
        keep = (lj > gamma_r) & (lj > -70.0)
        if not keep.any():
            return float("-inf")
        zk = z[:, keep].mean(axis=1)
        return float(-0.691 + 10.0 * np.log10(float((g * zk).sum())))


# --- the file-backed open path ---------------------------------------------------------------


@dataclass
class OpenedClip:
    """What :func:`open_clip` returns.

    ``clip.samples`` is an ordinary read-only float32 array (in memory) or a read-only memory
    map of ``cache_file`` (``file_backed``); ``pyramid`` covers the same samples.
    """

    clip: Clip
    pyramid: PeakPyramid
    file_backed: bool
    cache_file: Path | None = None


def _cache_key(p: Path, st: os.stat_result) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(fs_path(_resolved(p)))
    h.update(f"|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}|{st.st_dev}|v{_CACHE_VERSION}".encode())
    return h.hexdigest()


def _load_cached(base: Path, p: Path) -> OpenedClip | None:
    meta_path = base.with_suffix(".json")
    data_path = base.with_suffix(".f32")
    peaks_path = base.with_suffix(".peaks.npz")
    try:
        meta = json.loads(meta_path.read_text())
        frames, channels = int(meta["frames"]), int(meta["channels"])
        if data_path.stat().st_size != frames * channels * 4 or frames <= 0:
            return None
        samples = np.memmap(data_path, dtype=np.float32, mode="r", shape=(frames, channels))
        with np.load(peaks_path) as arrays:
            pyramid = PeakPyramid.from_level_arrays(samples, {k: arrays[k] for k in arrays.files})
        os.utime(meta_path)  # recently used (the pruning order)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    clip = Clip(samples, int(meta["rate"]), _resolved(p), meta.get("subtype"))
    return OpenedClip(clip, pyramid, True, data_path)


def prune_cache(limit_bytes: int = CACHE_LIMIT_BYTES, folder: Path | None = None, keep: str | None = None) -> None:
    """Remove the least recently used decoded files until the cache holds ``limit_bytes``
    (never the entry ``keep``; stale temporary files older than a day go too)."""
    folder = folder or user_cache_dir() / "decoded"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    groups: dict[str, list[os.DirEntry]] = {}
    for e in entries:
        if e.name.endswith(".part"):
            try:
                if now - e.stat().st_mtime > 86400:
                    os.unlink(e.path)
            except OSError:
                pass
            continue
        groups.setdefault(e.name.split(".", 1)[0], []).append(e)

    def size(es: list[os.DirEntry]) -> int:
        return sum(e.stat().st_size for e in es)

    def used(es: list[os.DirEntry]) -> float:
        return max(e.stat().st_mtime for e in es)

    try:
        order = sorted(groups.items(), key=lambda kv: used(kv[1]))
        total = sum(size(es) for _, es in order)
    except OSError:
        return
    for key, es in order:
        if total <= limit_bytes:
            break
        if key == keep:
            continue
        for e in es:
            try:
                os.unlink(e.path)
            except OSError:
                pass
        total -= size(es)


def _atomic_write(path: Path, write: Callable[[object], None]) -> None:
    tmp = None
    try:
        with deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        with deferred():
            os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None:
            with deferred():
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def open_clip(
    path: str | os.PathLike,
    *,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    in_memory_limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> OpenedClip:
    """Open an audio file of any length for the window (call it from a worker thread).

    Parameters
    ----------
    path
        Any file :func:`~stepedit_app.audio.io.read_clip` accepts.
    progress
        Called with the fraction decoded (0..1) after each block of ~262k frames.
    cancelled
        Polled after each block; returning True stops the open with
        :class:`~stepedit_app.errors.Cancelled` (no cache file is left behind).
    in_memory_limit
        Decoded float32 size in bytes up to which the samples are read into memory (default
        :data:`IN_MEMORY_LIMIT_BYTES`).
    cache_dir
        Where decoded long files go (default: ``user_cache_dir() / "decoded"``).

    Returns
    -------
    OpenedClip
        The clip (samples in memory or memory-mapped from the cache), its peak pyramid, and
        whether it is file-backed.

    Raises
    ------
    AudioInputError
        The lines of :func:`~stepedit_app.audio.io.read_clip`, and for a long file whose
        decoded cache cannot be written: "not enough space ..." or "cannot cache ...".
    Cancelled
        ``cancelled()`` returned True.
    """
    p = _check_path(path)
    st = os.stat(p)
    with _open_sound(p) as f:
        rate, channels, subtype = int(f.samplerate), int(f.channels), str(f.subtype)
        _check_rate(p, rate)
        expected = max(0, int(f.frames))
        limit = IN_MEMORY_LIMIT_BYTES if in_memory_limit is None else in_memory_limit
        if expected * channels * 4 <= limit:
            return _open_in_memory(f, p, rate, channels, subtype, expected, progress, cancelled)
        folder = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "decoded"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AudioInputError(f"{p}: cannot cache the decoded audio in {folder} ({exc.strerror})") from None
        key = _cache_key(p, st)
        base = folder / key
        cached = _load_cached(base, p)
        if cached is not None:
            if progress is not None:
                progress(1.0)
            return cached
        need = expected * channels * 4
        free = shutil.disk_usage(folder).free
        if free < need + 64 * 2**20:
            raise AudioInputError(
                f"{p}: not enough space in {folder} to open this long file "
                f"({need / 2**30:.1f} GB needed, {free / 2**30:.1f} GB free)"
            )
        data_path = base.with_suffix(".f32")
        builder = PeakBuilder()
        total = 0

        def decode(fh) -> None:  # noqa: ANN001 - a binary file
            nonlocal total
            for start, blk in iter_blocks(f, p, BLOCK_FRAMES):
                fh.write(memoryview(np.ascontiguousarray(blk)))
                builder.add(blk[:, 0] if channels == 1 else blk.mean(axis=1, dtype=np.float32))
                total = start + len(blk)
                if progress is not None and expected:
                    progress(min(1.0, total / expected))
                if cancelled is not None and cancelled():
                    raise Cancelled()

        try:
            _atomic_write(data_path, decode)
        except OSError as exc:
            raise AudioInputError(f"{p}: cannot cache the decoded audio in {folder} ({os.strerror(exc.errno or 0)})") from None
    if total == 0:
        _remove(data_path)
        raise AudioInputError(f"{p}: contains no audio (0 frames)")
    samples = np.memmap(data_path, dtype=np.float32, mode="r", shape=(total, channels))
    pyramid = builder.pyramid(samples)
    try:
        _atomic_write(base.with_suffix(".peaks.npz"), lambda fh: np.savez(fh, **pyramid.level_arrays()))
        meta = {"frames": total, "channels": channels, "rate": rate, "subtype": subtype,
                "source": os.fsdecode(fs_path(_resolved(p))), "version": _CACHE_VERSION}
        _atomic_write(base.with_suffix(".json"), lambda fh: fh.write(json.dumps(meta).encode()))
    except OSError:
        pass  # the clip works without; it is decoded again next time
    prune_cache(folder=folder, keep=key)
    return OpenedClip(Clip(samples, rate, _resolved(p), subtype), pyramid, True, data_path)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _open_in_memory(f, p, rate, channels, subtype, expected, progress, cancelled) -> OpenedClip:  # noqa: ANN001
    data = np.empty((expected, channels), np.float32)
    extra: list[np.ndarray] = []
    filled = 0
    for start, blk in iter_blocks(f, p, out=data):
        if start < expected:
            filled = start + len(blk)
        else:
            extra.append(blk.copy())
        if progress is not None and expected:
            progress(min(1.0, (start + len(blk)) / expected))
        if cancelled is not None and cancelled():
            raise Cancelled()
    data = np.concatenate([data[:filled], *extra]) if extra else data[:filled]
    if len(data) == 0:
        raise AudioInputError(f"{p}: contains no audio (0 frames)")
    data.flags.writeable = False
    clip = Clip(data, rate, _resolved(p), subtype)
    return OpenedClip(clip, PeakPyramid(clip.samples), False, None)
