"""Time-domain pitch-synchronous overlap-add (TD-PSOLA), written for StepEdit.

The method behind Praat's Manipulation (Moulines & Charpentier 1990), implemented from the
published description: pitch marks one period apart on voiced speech (each where the
waveform's cycle correlates best with its neighbour's, :func:`pitch_marks`), fixed 5 ms marks
elsewhere; synthesis marks laid out at the *target* period
along the *target* time axis; each synthesis mark takes the two-period Hann-windowed grain of
the analysis mark nearest to its mapped input time.  Pitch changes move the marks closer or
further apart; tempo changes repeat or skip grains.  It keeps the original waveform's detail
(no vocoder), which is why it sounds more natural than WORLD for pure pitch and timing edits,
and it is an order of magnitude faster.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal

UNVOICED_HOP_S = 0.005
#: Voiced grains of a lowered voice reach to their synthesis neighbours (up to twice their own
#: half-length), so lowering opens no gaps between grains.  Measured over 4 clips x 6 lowering
#: edits (sad, depressed, older, -2/-4 st): DistillMOS drop 0.469 -> 0.429 on average.
WIDEN_LOWERED = True
#: Voiced grains blend the two source periods nearest the time they map to (weights by
#: distance), instead of copying the nearest one.  A tempo or pitch change then moves through
#: the source's periods gradually: copying the nearest one repeats or skips whole periods, a
#: step in the waveform's evolution at every repeat or skip.  Measured with DistillMOS on 8
#: clips x 6 edits (``benchmarks/edit_cost_peers.py``'s), mean drop 0.139 -> 0.109; faster
#: x0.8 0.294 -> 0.211 (better on 5 clips, worse on none by more than 0.05).  Not where the
#: edit adds jitter or shimmer (see synthesize).
INTERPOLATE_GRAINS = True


@dataclass(frozen=True)
class PitchMarks:
    """Analysis marks (sample indices), their half-window (local period) and voicing."""

    marks: np.ndarray
    half: np.ndarray
    voiced: np.ndarray


#: A voiced mark's step from the last one, in periods (the search range of the cross-correlation)
#: and the normalised correlation under which the step is one period instead.
MARK_STEP = (0.8, 1.25)
MARK_MIN_CC = 0.3


def _next_mark(x: np.ndarray, m: int, period: int, sign: int) -> tuple[int, float]:
    """The mark one period from ``m`` (``sign`` +1: later, -1: earlier): the lag in
    :data:`MARK_STEP` periods whose one-period neighbourhood correlates best with ``m``'s, and
    that correlation (normalised, -1..1)."""
    n = len(x)
    h = max(1, period // 2)
    lo, hi = max(1, int(np.floor(MARK_STEP[0] * period))), max(2, int(np.ceil(MARK_STEP[1] * period)))
    a, b = m - h, m + h
    if a < 0 or b > n:
        return m + sign * period, 0.0
    tmpl = x[a:b]
    if sign > 0:
        s0, s1 = m + lo - h, m + hi + h
    else:
        s0, s1 = m - hi - h, m - lo + h
    s0c, s1c = max(0, s0), min(n, s1)
    if s1c - s0c < 2 * h + 1:
        return m + sign * period, 0.0
    seg = x[s0c:s1c]
    win = np.lib.stride_tricks.sliding_window_view(seg, 2 * h)
    num = win @ tmpl
    e = np.sqrt(np.maximum((win * win).sum(axis=1) * float(tmpl @ tmpl), 1e-30))
    r = num / e
    j = int(np.argmax(r))
    return s0c + j + h, float(r[j])


def pitch_marks(x: np.ndarray, rate: int, f0: np.ndarray, frame_period_ms: float) -> PitchMarks:
    """Place pitch marks on ``x`` (mono float64) from an F0 track (0 = unvoiced), by
    cross-correlation (the method Praat documents for "To PointProcess (periodic, cc)").

    On every voiced run the first mark is the waveform's absolute extremum within half a
    period of the run's middle; from there marks are walked outwards, each 0.8-1.25 periods
    from the last, where the one-period neighbourhood correlates best with the last mark's.
    Every mark therefore sits at the same point of its cycle as its neighbour (the glottal
    cycle's homologue), which keeps PSOLA's grains aligned; where the correlation is poor
    (< 0.3), the mark falls one period on instead.  Unvoiced stretches get marks 5 ms apart.
    """
    n = len(x)
    fp = frame_period_ms / 1000.0
    uv = max(2, int(round(UNVOICED_HOP_S * rate)))
    if n == 0:
        return PitchMarks(np.zeros(0, int), np.zeros(0, int), np.zeros(0, bool))
    x = np.asarray(x, dtype=np.float64)
    fi = np.minimum((np.arange(n) / rate / fp + 0.5).astype(int), len(f0) - 1)
    f0_s = f0[fi] if len(f0) else np.zeros(n)
    vmask_s = f0_s > 0

    def per(i: int) -> int:
        return max(2, int(round(rate / f0_s[min(max(i, 0), n - 1)])))

    marks: list[int] = []
    halves: list[int] = []
    voiced: list[bool] = []

    def unvoiced(a: int, b: int) -> None:
        i = a
        while i < b:
            marks.append(i)
            halves.append(uv)
            voiced.append(False)
            i += uv

    def walk(m: int, sign: int, lo: int, hi: int) -> list[int]:
        """Marks from ``m`` (excluded) one period at a time in direction ``sign``, while they
        stay strictly between ``lo`` and ``hi``."""
        out = []
        while True:
            c, r = _next_mark(x, m, per(m), sign)
            if r < MARK_MIN_CC:
                c = m + sign * per(m)
            if not lo < c < hi:
                return out
            out.append(c)
            m = c

    done = 0
    for (run_slice,) in scipy.ndimage.find_objects(scipy.ndimage.label(vmask_s)[0]):
        a, b = run_slice.start, run_slice.stop
        mid = (a + b) // 2
        t0 = per(mid)
        lo, hi = max(a, done, mid - t0 // 2), min(b, mid + t0 // 2 + 1)
        if hi <= lo:
            continue  # a run shorter than the last one's tail: left to the unvoiced marks
        first = lo + int(np.argmax(np.abs(x[lo:hi])))
        # inside the run, and past the last run's final grain
        bounds = (max(a - 1, done), b)
        run = walk(first, -1, *bounds)[::-1] + [first] + walk(first, 1, *bounds)
        unvoiced(done, run[0] - uv // 2)  # no unvoiced grain right on the first voiced one
        for m in run:
            marks.append(m)
            halves.append(per(m))
            voiced.append(True)
        done = run[-1] + per(run[-1])  # the last grain's right half: a period
    unvoiced(done, n)
    return PitchMarks(np.asarray(marks, int), np.asarray(halves, int), np.asarray(voiced, bool))


def synthesize(
    x: np.ndarray,
    rate: int,
    pm: PitchMarks,
    out_len: int,
    out_to_in: np.ndarray,
    target_period: np.ndarray,
    jitter: np.ndarray | None = None,
    shimmer_db: np.ndarray | None = None,
    seed: int = 0,
    pitch_ratio: np.ndarray | None = None,
    cancel=None,
) -> np.ndarray:
    """Overlap-add grains of ``x`` (channels x frames) into ``out_len`` output samples.

    Grains fall in phase with the source where they can: the first grain of a voiced run that
    follows unvoiced synthesis (or starts the output) sits where its mark maps to through
    ``out_to_in``, not wherever the 5 ms unvoiced hop happened to land, and where the time
    map is the identity (untouched stretches, the ramps before a join) unvoiced grains step
    to where their marks map to.  Before, every run started up to half a period off: an
    identity edit of 8 real recordings came back at -3.7 to -1.2 dB SNR against its input
    (now 18 dB to exact: LJ001-0004 keeps 18 dB where its marks jump an octave and a period
    is clipped to twice the half-width), and the two signals each boundary crossfade of an
    edited region blends (the edit's first or last 10 ms and the original's) were out of
    phase: correlation over 38 regions, start mean 0.55 (min -0.48) -> 0.98 (0.85), end 0.11
    (-0.58) -> 0.97 (0.75) (``benchmarks/boundary_phase.py``).

    Parameters
    ----------
    out_to_in
        For every output sample, the input sample position it maps to (monotone).
    target_period
        For every output sample, the target period in samples (0 = unvoiced: keep 5 ms hops).
    jitter
        For every output sample, extra cycle-to-cycle period perturbation (relative RMS, e.g.
        0.01 = 1 %): voiced synthesis periods alternate long and short about their target by
        that much (what Praat's local jitter measures, as the mean difference of consecutive
        periods).  Alternation is the rough, creaky irregularity of an aged voice; it moves
        Praat's jitter twice as far per unit of perturbation as independent draws (2 against
        1.13), and for the same measured rise it cost less DistillMOS: older on 12 clips, mean
        drop 0.41 -> 0.33, cells over the limit 11 -> 6 of 24.  None: none.
    shimmer_db
        For every output sample, cycle-to-cycle amplitude perturbation (RMS dB) of the voiced
        grains (what Praat's local shimmer measures).  None: none.
    seed
        Seed of the perturbations (deterministic output).
    pitch_ratio
        For every output sample, target F0 over source F0.  When given, a voiced synthesis
        period is the *source's own mark spacing* divided by it (rather than
        ``target_period``), and grains use asymmetric windows reaching to the neighbouring
        marks, so an edit that changes neither pitch nor time reproduces the input (no
        window-sum ripple), and the waveform's own cycle-to-cycle variation is kept.
    cancel
        Checked every few hundred grains (see :mod:`stepedit_app.audio.cancel`).
    """
    from stepedit_app.audio.cancel import checkpoint

    chans, n = x.shape
    uv = max(2, int(round(UNVOICED_HOP_S * rate)))
    if out_len <= 0 or len(pm.marks) == 0:
        return np.zeros((chans, max(0, out_len)))
    # Synthesis marks: step by the target period (or the unvoiced hop) along the output.
    s_marks: list[int] = []
    src: list[int] = []
    nominal: list[float] = []  # each synthesis mark's step before jitter (0 = unvoiced)
    s = 0
    marks = pm.marks
    # each mark's distance to its neighbours (the local period on voiced runs)
    nxt = np.append(np.diff(marks), pm.half[-1] if len(marks) else uv)
    prv = np.insert(np.diff(marks), 0, pm.half[0] if len(marks) else uv)
    right = np.where(pm.voiced, np.clip(nxt, pm.half // 2, pm.half * 2), pm.half)
    left = np.where(pm.voiced, np.clip(prv, pm.half // 2, pm.half * 2), pm.half)
    right = np.maximum(right, 2)
    left = np.maximum(left, 2)
    # the marks walk is sequential (each step depends on the last): plain Python values
    mk, rt, vc = marks.tolist(), right.tolist(), pm.voiced.tolist()
    last = len(mk) - 1
    # Where each voiced run of the source starts in the output: the unvoiced hop steps exactly
    # there, so the run's first grain sits where its mark maps to (an edit that changes
    # neither pitch nor time then reproduces the input, and every run starts in phase with
    # the waveform around it instead of up to half a period off)
    starts = np.nonzero(pm.voiced & ~np.r_[False, pm.voiced[:-1]])[0]
    at = np.searchsorted(out_to_in, marks)  # where each source mark maps to in the output
    at_l = at.tolist()
    run_at = at[starts].tolist()
    if len(starts) and starts[0] == 0 and run_at[0] <= min(left[0], out_len - 1):
        # a region that starts voiced: its first grain where its mark maps to (its window
        # still reaches the first sample)
        s = run_at[0]
    long_short = False  # jitter's alternation
    while s < out_len:
        if len(s_marks) % 512 == 511:
            checkpoint(cancel)
        t_in = float(out_to_in[s])
        k = bisect.bisect_left(mk, t_in)
        if k > last:
            k = last
        elif k > 0 and (t_in - mk[k - 1]) < (mk[k] - t_in):
            k -= 1
        if k > 0 and vc[k] and not vc[k - 1] and s < at_l[k] and not (nominal and nominal[-1] > 0):
            k -= 1  # from unvoiced synthesis, a run's first grain not before the run starts
        s_marks.append(s)
        src.append(k)
        p = float(target_period[s])
        if pitch_ratio is not None and p > 0:
            p = rt[k] / max(1e-6, float(pitch_ratio[s]))
        nominal.append(p if p > 0 and vc[k] else 0.0)
        if p > 0 and vc[k]:
            if jitter is not None and jitter[s] > 0:
                long_short = not long_short
                p *= 1.0 + jitter[s] * (1.0 if long_short else -1.0)
            step = int(round(p))
        else:
            step = uv
            j = bisect.bisect_right(run_at, s)
            if j < len(run_at) and run_at[j] - s <= uv:
                step = run_at[j] - s
            elif k < last and abs((at_l[k + 1] - at_l[k]) - (mk[k + 1] - mk[k])) <= 1 and 0 < at_l[k + 1] - s <= uv + uv // 2:
                # where the time map is the identity (untouched stretches, the ramps at joins):
                # on to the next mark's own place, so unvoiced grains fall in phase as well
                step = at_l[k + 1] - s
        s += max(1, step)
    s_all = np.asarray(s_marks)
    k_all = np.asarray(src)
    out = np.zeros((chans, out_len))
    wsum = np.zeros(out_len)
    asym = pitch_ratio is not None
    if asym:
        lh, rh = left[k_all], right[k_all]
        if WIDEN_LOWERED and len(s_all) > 1:
            # a lowered voice spaces its grains further apart than they are long: each voiced
            # grain reaches to its synthesis neighbours instead (their step before jitter, so
            # added jitter is not smoothed away), and no gap opens between them
            step = np.rint(np.asarray(nominal)).astype(int)
            after = np.where(step > 0, step, rh)
            before = np.concatenate([[lh[0]], after[:-1]])
            v = (step > 0) & pm.voiced[k_all]
            lh = np.where(v, np.maximum(lh, np.minimum(before, 2 * lh)), lh)
            rh = np.where(v, np.maximum(rh, np.minimum(after, 2 * rh)), rh)
        if len(s_all) > 1:
            # no gap where voiced and unvoiced synthesis meet (or between unvoiced grains): where
            # a step is longer than the windows on either side reach (the step into in-place
            # unvoiced grains after a voiced run whose pitch was moved: up to 1.5 hops), both
            # reach across it.  Between two voiced grains the widening above decides (jitter
            # stays unsmoothed).
            gap = np.diff(s_all)
            vs = np.asarray(nominal) > 0
            short = (gap > np.minimum(rh[:-1], lh[1:])) & ~(vs[:-1] & vs[1:])
            rh[:-1] = np.where(short, np.maximum(rh[:-1], np.minimum(gap, 2 * rh[:-1])), rh[:-1])
            lh[1:] = np.where(short, np.maximum(lh[1:], np.minimum(gap, 2 * lh[1:])), lh[1:])
    else:
        lh = rh = pm.half[k_all]
    gain = None
    if shimmer_db is not None:
        sh = shimmer_db[s_all] * pm.voiced[k_all]
        if np.any(sh > 0):
            rng_sh = np.random.default_rng(seed + 1)
            gain = 10 ** (sh * np.clip(rng_sh.standard_normal(len(s_all)), -2.5, 2.5) / 20)
    # Overlap-add, grain by grain (slices of a few hundred samples: cheaper than one padded
    # matrix of every grain), a cancel point every 512 grains.
    src_marks = marks[k_all]
    # each voiced grain's partner: the source period on the other side of the time it maps
    # to, weighted by how far that time lies towards it (0 at a mark, at most 0.5)
    part_marks = frac = None
    if INTERPOLATE_GRAINS and len(s_all):
        t_in = out_to_in[s_all]
        pk = np.clip(np.where(t_in >= src_marks, k_all + 1, k_all - 1), 0, len(marks) - 1)
        span = np.abs(marks[pk] - src_marks).astype(np.float64)
        ok = (pk != k_all) & pm.voiced[k_all] & pm.voiced[pk] & (np.asarray(nominal) > 0) & (span > 0)
        # not where the edit asks for a rougher voice (jitter, shimmer): blending averages the
        # voice's own cycle-to-cycle variation away (older's Praat shimmer fell 0.05-0.1 at
        # every intensity, against a rise it asks for, on 6 of 28 real clips)
        if jitter is not None:
            ok &= ~(jitter[s_all] > 0)
        if shimmer_db is not None:
            ok &= ~(shimmer_db[s_all] > 0)
        frac = np.where(ok, np.clip(np.abs(t_in - src_marks) / np.maximum(span, 1.0), 0.0, 0.5), 0.0)
        frac[frac < 1e-3] = 0.0
        if np.any(frac > 0):
            part_marks = marks[pk]
    for b0 in range(0, len(s_all), 512):
        checkpoint(cancel)
        b1 = b0 + 512
        g = None if gain is None else gain[b0:b1]
        if part_marks is None:
            _ola(out, wsum, x, src_marks[b0:b1], s_all[b0:b1], lh[b0:b1], rh[b0:b1], g)
            continue
        f = frac[b0:b1]
        g = np.ones(len(f)) if g is None else g
        _ola(out, wsum, x, src_marks[b0:b1], s_all[b0:b1], lh[b0:b1], rh[b0:b1], g * (1.0 - f))
        both = np.nonzero(f > 0)[0]  # the partners: numerators only (one window per grain)
        _ola(out, None, x, part_marks[b0:b1][both], s_all[b0:b1][both], lh[b0:b1][both], rh[b0:b1][both],
             (g * f)[both])
    # Overlap-add normalised by the window sum where grains overlap more than once (raising
    # pitch) and where they slightly under-cover (mark spacing not quite the window length);
    # real gaps (pitch lowered far) are left as gaps.
    floor = np.full(out_len, 0.6 if asym else 1.0)
    if len(s_all):
        # after the last grain's mark only that grain is left: its samples as they are, not
        # faded out by its window (the end of a render is the source's end)
        floor[s_all[-1] + 1 :] = 1e-6
    out /= np.maximum(wsum, floor)[None, :]
    return out


@functools.lru_cache(maxsize=2048)
def _window(left: int, right: int) -> np.ndarray:
    """Asymmetric Hann grain window over offsets ``-left+1 .. right-1`` about its mark:
    ``0.5 + 0.5 cos(pi * offset / half)`` with ``half`` = ``left`` before the mark and ``right``
    after it (1 at the mark)."""
    fall_l = 0.5 + 0.5 * np.cos(np.pi * np.arange(left) / left)
    fall_r = 0.5 + 0.5 * np.cos(np.pi * np.arange(right) / right)
    w = np.concatenate((fall_l[:0:-1], fall_r))
    w.setflags(write=False)
    return w


def _ola(out, wsum, x, src_marks, s_arr, lh, rh, gain) -> None:
    """Add grains (numerators into ``out``, window weights into ``wsum``): grain ``i`` is ``x``
    around ``src_marks[i]``, Hann-windowed over ``lh[i]`` samples before and ``rh[i]`` after
    it, added at ``s_arr[i]``; ``gain`` (shimmer) scales the numerators only, so the window-sum
    normalisation does not undo it.  ``wsum`` None: numerators only (the partner of a blended
    grain, whose window the grain it blends with has counted).  A grain that the output needs
    past the source's end reads the source mirrored about its last sample."""
    n = x.shape[1]
    out_len = out.shape[1]
    for i in range(len(s_arr)):
        m, s, a, b = int(src_marks[i]), int(s_arr[i]), int(lh[i]), int(rh[i])
        lo, hi = max(1 - a, -m, -s), min(b, n - m, out_len - s)  # offsets inside both signals
        reach = min(b, out_len - s)
        if reach > hi and n >= 2 and m < n:
            # a grain at the source's end that the output needs further (a slowed ending):
            # the source mirrored about its last sample, so the output's last samples are covered
            idx = np.arange(m + lo, m + reach)
            seg = x[:, np.clip(np.where(idx >= n, 2 * (n - 1) - idx, idx), 0, n - 1)]
            hi = reach
        else:
            seg = x[:, m + lo : m + hi]
        if hi <= lo:
            continue
        w = _window(a, b)[lo + a - 1 : hi + a - 1]
        if wsum is not None:
            wsum[s + lo : s + hi] += w
        if gain is not None:
            w = w * gain[i]
        out[:, s + lo : s + hi] += seg * w


def retime_periodic(h: np.ndarray, period: float, out_to_in: np.ndarray) -> np.ndarray:
    """Re-time a stationary periodic background (mains hum) without breaking its phase.

    ``h`` (channels x frames) repeats every ``period`` samples (it holds only harmonics of one
    base); ``out_to_in`` gives, for every output sample, the input position it maps to.  The
    output is overlap-added from Hann blocks four periods long (hop two periods); each block is
    copied from the input position nearest its mapped time that lies a whole number of periods
    from the output position, so every block carries the hum in the same phase and the blocks
    add up to a continuous hum: a tempo change repeats or skips whole periods of it.  Where
    the map is the identity, the output is ``h`` itself.
    """
    chans, n = h.shape
    out_len = len(out_to_in)
    out = np.zeros((chans, out_len))
    if out_len == 0 or n == 0:
        return out
    p = float(period)
    hop = max(1, int(round(2 * p)))
    size = 2 * hop
    if n < size + int(np.ceil(p)) + 1:
        # too short to hold whole blocks: keep the input where it maps (the identity on short input)
        idx = np.clip(np.round(out_to_in).astype(int), 0, n - 1)
        return h[:, idx]
    win = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2  # periodic Hann: sums to 1 at hop size/2
    wsum = np.zeros(out_len)
    for b in range(-hop, out_len, hop):
        centre = min(max(b + hop, 0), out_len - 1)
        want = float(out_to_in[centre]) - (centre - b)  # input start this block would map to
        j = round((b - want) / p)
        lo, hi = max(0, -b), min(size, out_len - b)  # the part of the block inside the output
        if hi <= lo:
            continue
        # the part used stays inside the input, moved by whole periods
        shift = b - j * p
        if shift + lo < 0:
            shift += p * np.ceil(-(shift + lo) / p)
        if shift + hi > n:
            shift -= p * np.ceil((shift + hi - n) / p)
        src = int(round(shift))
        src = min(max(src, -lo), n - hi)
        out[:, b + lo : b + hi] += h[:, src + lo : src + hi] * win[lo:hi]
        wsum[b + lo : b + hi] += win[lo:hi]
    return out / np.maximum(wsum, 1e-9)[None, :]


#: Oversampling of :func:`warp_source`: the source is upsampled this much by a polyphase FIR
#: and then read at fractional positions by linear interpolation.
WARP_OVERSAMPLE = 4


def warp_source(x: np.ndarray, warp: np.ndarray, cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """Resample ``x`` (channels x frames) at a varying rate so that its spectrum is scaled by
    ``warp`` (one factor per input sample; > 1 raises every frequency, formants and F0 alike).

    This is the grain resampling of classic PSOLA formant shifting, done once on the whole
    source: PSOLA then restores the pitch (dividing its ratio by the warp), so the formants
    move and the harmonics stay where the pitch edit puts them.  Returns ``(xw, tau)``:
    ``tau[i]`` is the position in ``xw`` of input sample ``i`` (``tau`` advances by
    ``1 / warp`` per sample).  Where the warp raises frequencies, what would land above the
    Nyquist frequency is first taken out (zero-phase elliptic low-pass at ``1 / max(warp)`` of
    the band); the source is then upsampled ``WARP_OVERSAMPLE`` times (polyphase FIR) and
    read by linear interpolation.  ``cancel`` is checked once per channel.
    """
    from stepedit_app.audio.cancel import checkpoint

    chans, n = x.shape
    w = np.clip(np.asarray(warp, dtype=float), 0.25, 4.0)
    if n < 2:
        return x.astype(float), np.arange(n, dtype=float)
    tau = np.concatenate([[0.0], np.cumsum(1.0 / w[:-1])])
    m = int(np.floor(tau[-1])) + 1
    pos = np.interp(np.arange(m, dtype=float), tau, np.arange(n, dtype=float))  # input position of each output sample
    up = WARP_OVERSAMPLE
    half = 16 * up
    taps = scipy.signal.firwin(2 * half + 1, 0.9 / up, window=("kaiser", 8.0)) * up  # image rejection
    src = x.astype(float)
    if w.max() > 1.0 + 1e-6 and n > 60:
        # what would land above the Nyquist frequency is taken out first (zero phase)
        sos = scipy.signal.ellip(8, 0.1, 70.0, 0.97 / float(w.max()), output="sos")
        src = scipy.signal.sosfiltfilt(sos, src, axis=1)
    out = np.empty((chans, m))
    at = pos * up
    i0 = np.minimum(at.astype(np.intp), n * up - 2)
    frac = at - i0
    for ch in range(chans):
        checkpoint(cancel)
        xu = scipy.signal.upfirdn(taps, src[ch], up)[half : half + n * up]
        out[ch] = xu[i0] * (1.0 - frac) + xu[i0 + 1] * frac
    return out, tau


def warp_marks(pm: PitchMarks, tau: np.ndarray, warp: np.ndarray) -> PitchMarks:
    """Pitch marks of ``x`` moved onto the resampled source of :func:`warp_source`."""
    if len(pm.marks) == 0:
        return pm
    n = len(tau)
    marks = np.round(np.interp(pm.marks, np.arange(n), tau)).astype(int)
    # keep the marks strictly increasing (two marks can round onto one sample where warp > 1)
    ramp = np.arange(len(marks))
    marks = np.maximum.accumulate(marks - ramp) + ramp
    half = np.maximum(2, np.round(pm.half / warp[np.minimum(pm.marks, n - 1)])).astype(int)
    return PitchMarks(marks, half, pm.voiced)

