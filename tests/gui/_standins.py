"""Minimal stand-ins for Qt-free modules that another contributor is writing.

``conftest.py`` installs these into ``sys.modules`` *only* when the real module cannot be
imported, so the GUI tests run before those modules land and automatically use the real ones
afterwards.  They follow the agreed APIs, nothing more.  Delete this file once
``stepedit_app.audio.{peaks,spectrogram,playback}`` and ``stepedit_app.session.{diff,export}``
exist.
"""

from __future__ import annotations

import enum
import math
import types
from dataclasses import dataclass, field

import numpy as np


# --- stepedit_app.audio.peaks -----------------------------------------------------------------
class PeakPyramid:
    def __init__(self, samples, base_block: int = 256, factor: int = 4) -> None:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        self.x = x
        self.levels = []
        b = base_block
        n = x.shape[0] // b
        if n:
            blk = x[: n * b].reshape(n, b, -1)
            mn, mx = blk.min(axis=1), blk.max(axis=1)
            self.levels.append((b, mn, mx))
            while mn.shape[0] >= factor * 2:
                m = mn.shape[0] // factor
                mn = mn[: m * factor].reshape(m, factor, -1).min(axis=1)
                mx = mx[: m * factor].reshape(m, factor, -1).max(axis=1)
                b *= factor
                self.levels.append((b, mn, mx))

    def envelope(self, start: int, end: int, n_points: int):
        start, end = max(0, int(start)), min(self.x.shape[0], int(end))
        span = max(1, end - start)
        per = span / max(1, n_points)
        src_b, src_mn, src_mx = 1, self.x, self.x
        for b, mn, mx in self.levels:
            if b <= per:
                src_b, src_mn, src_mx = b, mn, mx
        i0, i1 = start // src_b, max(start // src_b + 1, -(-end // src_b))
        i1 = min(i1, src_mn.shape[0])
        mn, mx = src_mn[i0:i1], src_mx[i0:i1]
        k = max(1, int(len(mn) // max(1, n_points)))
        m = len(mn) // k
        if m == 0:
            return np.array([start]), self.x[start : start + 1], self.x[start : start + 1]
        mn = mn[: m * k].reshape(m, k, -1).min(axis=1)
        mx = mx[: m * k].reshape(m, k, -1).max(axis=1)
        pos = (i0 + np.arange(m) * k) * src_b
        return pos, mn, mx


# --- stepedit_app.audio.spectrogram -------------------------------------------------------------
@dataclass
class Spectrogram:
    db: np.ndarray
    freqs: np.ndarray
    times: np.ndarray
    hop_s: float


def _bins(rate, n_fft, scale, n_bins):
    lin = np.fft.rfftfreq(n_fft, 1 / rate)
    if scale == "linear":
        return np.linspace(0, rate / 2, n_bins), lin
    if scale == "mel":
        mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
        inv = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
        return inv(np.linspace(mel(40), mel(rate / 2), n_bins)), lin
    return np.geomspace(40, rate / 2, n_bins), lin


def spectrogram_db(x, rate, n_fft=1024, hop=None, scale="log", n_bins=256, floor_db=-100.0):
    hop = hop or n_fft // 4
    x = np.asarray(x, dtype=np.float32)
    n = 1 + max(0, len(x) - 1) // hop
    pad = np.concatenate([np.zeros(n_fft // 2, np.float32), x, np.zeros(n_fft, np.float32)])
    idx = np.arange(n)[:, None] * hop + np.arange(n_fft)[None, :]
    frames = pad[idx] * np.hanning(n_fft).astype(np.float32)
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2 / (n_fft / 4) ** 2
    freqs, lin = _bins(rate, n_fft, scale, n_bins)
    q = np.stack([np.interp(freqs, lin, row) for row in p], axis=1) if n else np.zeros((n_bins, 0))
    db = np.maximum(10 * np.log10(q + 1e-20), floor_db).astype(np.float32)
    return Spectrogram(np.ascontiguousarray(db), freqs, np.arange(n) * hop / rate, hop / rate)


def iter_spectrogram(x, rate, chunk_s=5.0, **kw):
    hop = kw.get("hop") or kw.get("n_fft", 1024) // 4
    kw["hop"] = hop
    cols = max(1, int(chunk_s * rate) // hop)
    n = 1 + max(0, len(x) - 1) // hop
    for c0 in range(0, n, cols):
        seg = x[c0 * hop : min(len(x), (c0 + cols) * hop)]
        s = spectrogram_db(seg, rate, **kw)
        yield c0, Spectrogram(s.db[:, :cols], s.freqs, s.times[:cols] + c0 * hop / rate, s.hop_s)


def difference_db(a, b, path=None):
    n = min(a.shape[1], b.shape[1])
    return (b[:, :n] - a[:, :n]).astype(np.float32)


# --- stepedit_app.audio.playback ---------------------------------------------------------------
class PlaybackState(enum.Enum):
    STOPPED = 0
    PLAYING = 1
    STOPPING = 2


class Player:
    """No audio: position advances only by ``advance``; enough for the window's logic."""

    def __init__(self, stream_factory=None) -> None:
        self.available = True
        self.error = None
        self.device = 0
        self.source = "A"
        self.state = PlaybackState.STOPPED
        self.position = 0
        self.on_finished = None
        self.rate = 1
        self.original = None
        self.take = None
        self.region = None
        self.loop = None
        self.queued = None

    def output_devices(self):
        return [(0, "null")]

    def set_device(self, i):
        self.device = i

    def load(self, original, rate, take=None, region=None):
        self.original, self.rate, self.take, self.region = original, rate, take, region

    def set_take(self, take, region):
        self.take, self.region = take, region

    def queue_take(self, take, region):
        self.queued = (take, region)

    def play(self, start=0, end=None, loop=False):
        self.position = start
        self.state = PlaybackState.PLAYING

    def stop(self):
        self.state = PlaybackState.STOPPED

    def set_source(self, s):
        self.source = s

    def position_seconds(self):
        return self.position / self.rate

    def set_loop(self, start, end):
        self.loop = (start, end)

    def close(self):
        self.stop()


# --- stepedit_app.session.diff ------------------------------------------------------------------
@dataclass
class DiffRow:
    key: str
    label: str
    original: str
    take: str
    change: str
    value: float = float("nan")


@dataclass
class Diff:
    rows: list = field(default_factory=list)
    f0_times_original: np.ndarray = None
    f0_original: np.ndarray = None
    f0_times_take: np.ndarray = None
    f0_take: np.ndarray = None
    aligned_take_f0: np.ndarray = None
    path: np.ndarray = None
    spec_diff_db: np.ndarray = None
    identity: float | None = None


def compute_diff(original, take, identity=True, cancel=None):
    from stepedit_app.audio.analysis import cue_deltas, measure_cues, track_pitch

    a, b = measure_cues(original), measure_cues(take)
    d = cue_deltas(a, b)
    ta, tb = track_pitch(original.mono(), original.rate), track_pitch(take.mono(), take.rate)
    rows = [DiffRow("f0_st", "median F0", f"{a.median_f0_hz:.0f} Hz", f"{b.median_f0_hz:.0f} Hz",
                    f"{d['f0_st']:+.1f} st", d["f0_st"]),
            DiffRow("loudness_lu", "loudness", f"{a.loudness_lufs:.1f} LUFS", f"{b.loudness_lufs:.1f} LUFS",
                    f"{d['loudness_lu']:+.1f} LU", d["loudness_lu"])]
    sa = spectrogram_db(original.mono(), original.rate, n_bins=128).db
    sb = spectrogram_db(take.mono(), take.rate, n_bins=128).db
    n = len(ta.f0)
    aligned = np.interp(np.linspace(0, len(tb.f0) - 1, n), np.arange(len(tb.f0)), tb.f0)
    return Diff(rows, ta.times, ta.f0, tb.times, tb.f0, aligned, None, difference_db(sa, sb), None)


# --- stepedit_app.session.export ------------------------------------------------------------------
def render_name(template, *, source, take, ext):
    emo = take.request.slug() if take is not None else "original"
    name = template.format(name=source.name, emotion=emo, take=take.id if take else 0,
                           iteration=take.iteration if take else 0, engine=take.engine if take else "",
                           date="")
    return name + ext


def export(source, take, path, *, subtype=None, scope="full", lufs=None, true_peak_db=-1.0, takes=None):
    from stepedit_app.audio.io import write_clip

    clip = take.full(source) if scope == "full" else take.segment
    return write_clip(clip, path, subtype, protect=(source.path,))


def install(sys_modules) -> list[str]:
    """Install stand-ins for missing modules; returns the names installed."""
    import importlib

    installed = []
    spec = {
        "stepedit_app.audio.peaks": {"PeakPyramid": PeakPyramid},
        "stepedit_app.audio.spectrogram": {"Spectrogram": Spectrogram, "spectrogram_db": spectrogram_db,
                                           "iter_spectrogram": iter_spectrogram, "difference_db": difference_db},
        "stepedit_app.audio.playback": {"Player": Player, "PlaybackState": PlaybackState},
        "stepedit_app.session.diff": {"compute_diff": compute_diff, "Diff": Diff, "DiffRow": DiffRow},
        "stepedit_app.session.export": {"render_name": render_name, "export": export},
    }
    for name, attrs in spec.items():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys_modules[name] = mod
            installed.append(name)
    return installed


_ = math
