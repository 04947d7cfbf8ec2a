"""Continuous intensity over a discrete edit: morph from a pass's input to its output.

A model such as Step-Audio-EditX makes one fixed "more X" step per pass.  To keep only part of
that step (a slider at 30 %), both sides of the pass are analysed with WORLD (F0, spectral
envelope, aperiodicity; the log envelope carries the level in dB), aligned in time by dynamic
time warping, interpolated by the intensity and resynthesised:

* time: each output frame sits at ``(1-w)·t_in + w·t_out`` along the alignment path, so the
  duration moves linearly from the input's to the output's;
* F0: geometric interpolation where both sides are voiced; where only one side is voiced the
  voicing follows the nearer side and F0 the voiced side, shifted by the median ratio raised
  to ``w``;
* envelope: linear in log power (formant peaks cross-fade rather than glide; level moves
  linearly in dB); aperiodicity: linear.

So 30 % is a real in-between of pitch, timing, timbre and voice quality, not a cross-fade of
two waveforms.  Intensity 0 returns the input and intensity 1 the output sample for sample (no
resynthesis) unless the edit is ramped at the edges.

Alignment can fail when the pass dropped or added content (a clause missing, a laugh inserted).
The verdict comes from the alignment itself: the path's distance relative to unrelated frames
(``cost``), the worst 0.3 s window of that distance, and how far 0.4 s of speech on one side was
squeezed on the other.  A failed alignment keeps the full pass (the caller flags it).

The module is Qt-free and engine-neutral: any engine that runs discrete passes can use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyworld
import scipy.fft

from stepedit_app.audio.analysis import FRAME_PERIOD_MS, activity, track_pitch

#: Alignment grid (seconds).  10 ms keeps a 30 s pass at 3000 x 3000 cells.
ALIGN_HOP_S = 0.01
#: Alignment fails above this path cost (distance along the path / distance of unrelated
#: frames) over the whole pass ...
MAX_COST = 0.75
#: ... or above this in the worst 0.3 s stretch of speech ...
MAX_WINDOW_COST = 1.05
#: ... or when 0.4 s of speech on one side maps onto less than 1/MAX_SQUEEZE of it on the other
#: (a dropped or inserted word; tempo edits stay well under 2x).
MAX_SQUEEZE = 3.0
_SQUEEZE_WINDOW_S = 0.4
_COST_WINDOW_S = 0.3
_N_MELS = 24
_N_CEPS = 13
_FMIN, _FMAX = 60.0, 7600.0  # features from the band every clip and every model output share


@dataclass
class WorldFrames:
    """WORLD parameters of one mono signal, every :data:`FRAME_PERIOD_MS` ms."""

    f0: np.ndarray  # Hz, 0 = unvoiced
    log_sp: np.ndarray  # frames x bins, natural log of power
    ap: np.ndarray  # frames x bins, 0..1
    rate: int
    n_samples: int

    @property
    def frames(self) -> int:
        return len(self.f0)


@dataclass
class Alignment:
    """How a pass's output lines up with its input."""

    #: (N, 2) frame pairs (input frame, output frame) on the alignment grid, from (0, 0) to
    #: the last frame of each.
    path: np.ndarray
    #: Mean distance along the path relative to the mean distance of unrelated frames
    #: (0 = identical, about 1 = unrelated).
    cost: float
    #: The same over the worst 0.3 s stretch of the path.
    window_cost: float
    #: Largest squeeze of 0.4 s of speech on one side onto the other (1 = same speed).
    squeeze: float
    ok: bool
    reason: str = ""

    def to_dict(self) -> dict:
        return {"cost": round(self.cost, 3), "window_cost": round(self.window_cost, 3),
                "squeeze": round(self.squeeze, 2), "ok": self.ok, "reason": self.reason}


@dataclass
class MorphResult:
    """A morph's output and how it was obtained."""

    samples: np.ndarray  # mono float64
    #: None when no alignment was needed (intensity 0 or a full pass without ramps).
    alignment: Alignment | None
    #: True when the full pass was returned although a partial one was asked for.
    kept_full: bool
    resynthesised: bool


# --- analysis --------------------------------------------------------------------------------


def analyse(x: np.ndarray, rate: int) -> WorldFrames:
    """WORLD analysis of a mono signal with the project's robust pitch tracker."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1))
    track = track_pitch(x, rate, permissive=True)
    f0, t = track.f0, track.times
    sp = pyworld.cheaptrick(x, f0, t, rate)
    ap = pyworld.d4c(x, f0, t, rate)
    return WorldFrames(f0, np.log(np.maximum(sp, 1e-16)), ap, rate, len(x))


def _mel_matrix(rate: int, n_bins: int) -> np.ndarray:
    """(n_mels x bins) triangular mel filters over WORLD's envelope bins."""
    freqs = np.linspace(0.0, rate / 2.0, n_bins)
    hi = min(_FMAX, 0.95 * rate / 2.0)
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    edges = 700.0 * (10 ** (np.linspace(mel(_FMIN), mel(hi), _N_MELS + 2) / 2595.0) - 1.0)
    m = np.zeros((_N_MELS, n_bins))
    for k in range(_N_MELS):
        lo, c, up = edges[k], edges[k + 1], edges[k + 2]
        rise = (freqs - lo) / max(c - lo, 1e-9)
        fall = (up - freqs) / max(up - c, 1e-9)
        m[k] = np.maximum(0.0, np.minimum(rise, fall))
    m /= np.maximum(m.sum(axis=1, keepdims=True), 1e-12)
    return m


def features(w: WorldFrames, hop_s: float = ALIGN_HOP_S) -> np.ndarray:
    """Alignment features (frames x dims) every ``hop_s``: mel cepstrum c1.. with the
    utterance mean removed (static timbre and channel differences do not count), plus the
    frame level relative to the utterance's loud frames (so pauses align with pauses)."""
    step = max(1, int(round(hop_s * 1000.0 / FRAME_PERIOD_MS)))
    sp = np.exp(w.log_sp[::step])
    mel = np.log(np.maximum(sp @ _mel_matrix(w.rate, sp.shape[1]).T, 1e-16))
    ceps = scipy.fft.dct(mel, type=2, norm="ortho", axis=1)[:, :_N_CEPS]
    level_db = 10.0 / math.log(10.0) * mel.mean(axis=1)
    rel = np.clip(level_db - np.percentile(level_db, 95), -60.0, 0.0) / 6.0
    c = ceps[:, 1:]
    c = c - c.mean(axis=0, keepdims=True)
    return np.column_stack([c, rel])


# --- alignment -------------------------------------------------------------------------------


def dtw(a: np.ndarray, b: np.ndarray, band: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic time warping of two feature sequences (frames x dims).

    Euclidean frame distance; steps (1,0), (0,1), (1,1); a Sakoe-Chiba band of ``band`` times
    the longer length around the (scaled) diagonal, widened to cover any length difference.
    Returns the path ((N, 2) index pairs from (0, 0) to the last frames) and the frame distance
    at every step of it.
    """
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return np.zeros((0, 2), int), np.zeros(0)
    w = max(2, int(band * max(na, nb)), abs(na - nb) + 2)
    centre = (np.arange(na) * (nb - 1) / max(1, na - 1)).astype(int)
    inf = np.float32(np.inf)
    acc = np.full((na, nb), inf, np.float32)
    b2 = (b * b).sum(axis=1)
    for i in range(na):
        lo, hi = max(0, centre[i] - w), min(nb, centre[i] + w + 1)
        row = np.sqrt(np.maximum((a[i] @ a[i]) + b2[lo:hi] - 2.0 * (b[lo:hi] @ a[i]), 0.0)).astype(np.float32)
        if i == 0:
            acc[0, lo:hi] = np.cumsum(row) if lo == 0 else inf
            continue
        prev = acc[i - 1]
        up = prev[lo:hi]
        diag = np.concatenate([[prev[lo - 1] if lo > 0 else inf], prev[lo : hi - 1]])
        best = np.minimum(up, diag) + row
        cs = np.cumsum(row)  # horizontal steps: running minimum of (best - cumsum) + cumsum
        acc[i, lo:hi] = np.minimum.accumulate(best - cs) + cs
    i, j = na - 1, nb - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        cands = []
        if i > 0 and j > 0:
            cands.append((acc[i - 1, j - 1], 0, i - 1, j - 1))
        if i > 0:
            cands.append((acc[i - 1, j], 1, i - 1, j))
        if j > 0:
            cands.append((acc[i, j - 1], 1, i, j - 1))
        _, _, i, j = min(cands)
        path.append((i, j))
    p = np.asarray(path[::-1], int)
    d = np.sqrt(((a[p[:, 0]] - b[p[:, 1]]) ** 2).sum(axis=1))
    return p, d


def _squeeze(path: np.ndarray, active: np.ndarray, side: int, win: int) -> float:
    """Largest ratio (speech frames on ``side``) / (frames they map to on the other side) over
    windows of ``win`` frames that are at least 80 % speech."""
    n = len(active)
    if n < win:
        return 1.0
    other = 1 - side
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, path[:, side], path[:, other])
    np.maximum.at(hi, path[:, side], path[:, other])
    frac = np.convolve(active.astype(float), np.ones(win) / win, mode="valid")
    worst = 1.0
    for s in np.nonzero(frac >= 0.8)[0]:
        span = hi[s + win - 1] - lo[s] + 1
        worst = max(worst, win / max(1, span))
    return float(worst)


def align(before: WorldFrames, after: WorldFrames, before_x: np.ndarray, after_x: np.ndarray) -> Alignment:
    """Align a pass's output with its input and judge whether the alignment holds."""
    fa, fb = features(before), features(after)
    path, d = dtw(fa, fb)
    act_a = _grid(activity(before_x, before.rate, ALIGN_HOP_S), len(fa))
    act_b = _grid(activity(after_x, after.rate, ALIGN_HOP_S), len(fb))
    # Scale: the mean distance between unrelated speech frames of the two sides.
    rng = np.random.default_rng(0)
    sa = np.nonzero(act_a)[0] if act_a.any() else np.arange(len(fa))
    sb = np.nonzero(act_b)[0] if act_b.any() else np.arange(len(fb))
    ia, ib = rng.choice(sa, 2000), rng.choice(sb, 2000)
    unrelated = float(np.mean(np.sqrt(((fa[ia] - fb[ib]) ** 2).sum(axis=1)))) + 1e-9
    speech = act_a[path[:, 0]] | act_b[path[:, 1]]
    rel = d / unrelated
    cost = float(rel[speech].mean()) if speech.any() else float(rel.mean())
    win = max(1, int(round(_COST_WINDOW_S / ALIGN_HOP_S)))
    if len(rel) >= win and speech.any():
        masked = np.where(speech, rel, 0.0)
        num = np.convolve(masked, np.ones(win), mode="valid")
        den = np.convolve(speech.astype(float), np.ones(win), mode="valid")
        ok_w = den >= 0.8 * win
        window_cost = float((num[ok_w] / den[ok_w]).max()) if ok_w.any() else cost
    else:
        window_cost = cost
    sw = max(2, int(round(_SQUEEZE_WINDOW_S / ALIGN_HOP_S)))
    squeeze = max(_squeeze(path, act_a, 0, sw), _squeeze(path, act_b, 1, sw))
    reasons = []
    if squeeze > MAX_SQUEEZE:
        reasons.append(f"{_SQUEEZE_WINDOW_S:.1f} s of speech maps onto {1 / squeeze:.0%} of it on the other side")
    if cost > MAX_COST:
        reasons.append(f"alignment cost {cost:.2f} > {MAX_COST:.2f}")
    if window_cost > MAX_WINDOW_COST:
        reasons.append(f"worst {_COST_WINDOW_S:.1f} s alignment cost {window_cost:.2f} > {MAX_WINDOW_COST:.2f}")
    reason = ("content dropped or added: " + "; ".join(reasons)) if reasons else ""
    return Alignment(path, cost, window_cost, squeeze, not reasons, reason)


def _grid(act: np.ndarray, n: int) -> np.ndarray:
    """Activity resampled (nearest) onto ``n`` alignment frames."""
    if len(act) == 0:
        return np.zeros(n, bool)
    idx = np.minimum((np.arange(n) * len(act) / max(n, 1)).astype(int), len(act) - 1)
    return act[idx]


# --- interpolation and resynthesis -------------------------------------------------------------


def _intensity_curve(intensity: float, n: int, rate_hz: float, ramp_in_s: float, ramp_out_s: float) -> np.ndarray:
    """Per-input-frame intensity: ``intensity`` with linear ramps from 0 at joined edges."""
    w = np.full(n, float(intensity))
    t = np.arange(n) / rate_hz
    if ramp_in_s > 0:
        w *= np.clip(t / ramp_in_s, 0.0, 1.0)
    if ramp_out_s > 0:
        w *= np.clip((t[-1] - t) / ramp_out_s, 0.0, 1.0)
    return w


def render(before: WorldFrames, after: WorldFrames, alignment: Alignment, intensity: float,
           ramp_in_s: float = 0.0, ramp_out_s: float = 0.0) -> np.ndarray:
    """Resynthesise the in-between at ``intensity`` (0..1) along ``alignment``."""
    fp = FRAME_PERIOD_MS / 1000.0
    na, nb = before.frames, after.frames
    p = alignment.path.astype(np.float64)
    # alignment grid -> WORLD frames, end points onto end points
    ia = p[:, 0] * (na - 1) / max(1.0, p[-1, 0])
    jb = p[:, 1] * (nb - 1) / max(1.0, p[-1, 1])
    w_in = _intensity_curve(intensity, na, 1.0 / fp, ramp_in_s, ramp_out_s)
    wp = np.interp(ia, np.arange(na), w_in)
    tau = ia + wp * (jb - ia)
    # strictly increasing (ramps can fold the time map back by a fraction of a frame)
    tau = np.maximum.accumulate(tau + np.arange(len(tau)) * 1e-6)
    n_out = max(2, int(round(tau[-1])) + 1)
    k = np.arange(n_out, dtype=np.float64)
    fi = np.interp(k, tau, ia)
    fj = np.interp(k, tau, jb)
    wk = np.interp(fi, np.arange(na), w_in)[:, None]
    a0 = np.clip(np.rint(fi).astype(int), 0, na - 1)
    b0 = np.clip(np.rint(fj).astype(int), 0, nb - 1)
    log_sp = (1.0 - wk) * before.log_sp[a0] + wk * after.log_sp[b0]
    ap = np.clip((1.0 - wk) * before.ap[a0] + wk * after.ap[b0], 0.0, 1.0)
    f0 = _interp_f0(before.f0[a0], after.f0[b0], wk[:, 0])
    y = pyworld.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(np.exp(log_sp)),
                           np.ascontiguousarray(ap), before.rate, FRAME_PERIOD_MS)
    # length: input and output lengths interpolated at the end's intensity
    w_end = float(w_in[-1])
    n = int(round((1.0 - w_end) * before.n_samples + w_end * after.n_samples))
    y = y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y))])
    return y


def _interp_f0(fa: np.ndarray, fb: np.ndarray, w: np.ndarray) -> np.ndarray:
    va, vb = fa > 0, fb > 0
    both = va & vb
    ratio = float(np.median(fb[both] / fa[both])) if both.sum() >= 5 else 1.0
    out = np.zeros_like(fa)
    out[both] = np.exp((1.0 - w[both]) * np.log(fa[both]) + w[both] * np.log(fb[both]))
    only_a = va & ~vb & (w < 0.5)
    out[only_a] = fa[only_a] * ratio ** w[only_a]
    only_b = vb & ~va & (w >= 0.5)
    out[only_b] = fb[only_b] * ratio ** (w[only_b] - 1.0)
    return out


class PassMorph:
    """One pass (input -> output, both mono at one rate), analysed once, rendered at any
    intensity.

    Parameters
    ----------
    before, after
        The pass's input and output, mono, same sample rate.
    rate
        Their sample rate.
    """

    def __init__(self, before: np.ndarray, after: np.ndarray, rate: int) -> None:
        self.before = np.ascontiguousarray(np.asarray(before, dtype=np.float64).reshape(-1))
        self.after = np.ascontiguousarray(np.asarray(after, dtype=np.float64).reshape(-1))
        self.rate = int(rate)
        self._a: WorldFrames | None = None
        self._b: WorldFrames | None = None
        self._alignment: Alignment | None = None

    @property
    def alignment(self) -> Alignment:
        """The alignment of output to input (computed on first use)."""
        if self._alignment is None:
            self._a = analyse(self.before, self.rate)
            self._b = analyse(self.after, self.rate)
            self._alignment = align(self._a, self._b, self.before, self.after)
        return self._alignment

    def render(self, intensity: float, ramp_in_s: float = 0.0, ramp_out_s: float = 0.0) -> MorphResult:
        """The pass kept at ``intensity`` (0..1).

        ``ramp_in_s`` / ``ramp_out_s`` fade the edit in from nothing at the start / out to
        nothing at the end (for a region joined to untouched audio).  Intensity 0 returns the
        input and intensity 1 without ramps returns the output, both without resynthesis; a
        failed alignment returns the output (``kept_full``).
        """
        w = float(intensity)
        if not (0.0 <= w <= 1.0):
            raise ValueError(f"intensity {intensity!r} out of range 0..1")
        if w <= 1e-3:
            return MorphResult(self.before.copy(), None, False, False)
        if w >= 1.0 - 1e-3 and ramp_in_s <= 0 and ramp_out_s <= 0:
            return MorphResult(self.after.copy(), None, False, False)
        al = self.alignment
        if not al.ok:
            return MorphResult(self.after.copy(), al, True, False)
        assert self._a is not None and self._b is not None
        y = render(self._a, self._b, al, w, ramp_in_s, ramp_out_s)
        return MorphResult(y, al, False, True)


def morph(before: np.ndarray, after: np.ndarray, rate: int, intensity: float,
          ramp_in_s: float = 0.0, ramp_out_s: float = 0.0) -> MorphResult:
    """Keep ``intensity`` (0..1) of the pass ``before`` -> ``after`` (mono, same rate); see
    :class:`PassMorph`."""
    return PassMorph(before, after, rate).render(intensity, ramp_in_s, ramp_out_s)
