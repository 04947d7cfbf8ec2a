"""PSOLA's analysis marks: every mark at the same point of its glottal cycle, walked by
cross-correlation, so that PSOLA's grains stay aligned when a cycle's shape changes."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from robustness import corpus

from stepedit_app.audio import psola


def _two_pulse_voice(rate: int, f0: float, seconds: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A voice whose cycle holds a main pulse and, a quarter period later, a second one whose
    strength glides from 0.6 to 1.4 of the main one's: a cycle whose largest peak changes
    place.  The peak picker that cross-correlation replaced jumped there (its marks' offsets in
    the cycle spread by 36 samples of 145).  Periods vary by 1 %.  Returns (signal, main
    pulses)."""
    n = int(seconds * rate)
    pulses = corpus.pulse_train(n, rate, f0, 0.01, np.random.default_rng(5))
    x = np.zeros(n)
    x[pulses] = 1.0
    second = pulses + int(0.25 * rate / f0)
    inside = second < n
    x[second[inside]] += 0.6 + 0.8 * pulses[inside] / n
    x = corpus.resonate(x, rate, ((650, 90), (1100, 110), (2500, 150)))
    return 0.3 * x / np.abs(x).max(), pulses


def test_the_marks_keep_their_place_in_the_cycle_while_its_shape_changes():
    rate, f0 = 16000, 110.0
    x, pulses = _two_pulse_voice(rate, f0)
    track = np.full(len(x) // 80 + 1, f0)  # 5 ms frames, all voiced
    pm = psola.pitch_marks(x, rate, track, 5.0)
    m = pm.marks[pm.voiced]
    assert len(m) > 0.9 * len(pulses)
    # each mark's offset from the main pulse it belongs to (the latest one at or before it)
    owner = pulses[np.searchsorted(pulses, m, side="right") - 1]
    off = (m - owner)[5:-5]
    period = rate / f0
    # one place in the cycle throughout: the offsets spread by a few samples (the 1 % period
    # variation and whole-sample marks), never by the quarter period between the two pulses
    assert np.ptp(off) <= 0.05 * period
    spacing = np.diff(m)
    assert np.all(np.abs(spacing / period - 1) < 0.1)


@settings(max_examples=40, deadline=None)
@given(
    rate=st.sampled_from([8000, 16000, 22050, 48000]),
    seed=st.integers(0, 2**16),
    f0=st.floats(60.0, 700.0),
    voiced=st.lists(st.booleans(), min_size=1, max_size=40),
    noise=st.floats(0.0, 1.0),
)
@example(rate=8000, seed=285, f0=629.09375, voiced=[True, False, False, False, False, False, True, True], noise=0.625)
def test_marks_are_increasing_inside_the_signal_and_voiced_only_where_the_track_is(rate, seed, f0, voiced, noise):
    rng = np.random.default_rng(seed)
    frames = len(voiced) * 10  # runs of 10 frames (50 ms), voiced or not
    n = frames * rate // 200
    t = np.arange(n) / rate
    x = (1 - noise) * np.sign(np.sin(2 * np.pi * f0 * t)) * np.exp(-((t * f0) % 1) * 4) + noise * rng.standard_normal(n)
    track = np.repeat(np.where(voiced, f0, 0.0), 10)
    pm = psola.pitch_marks(x, rate, track, 5.0)
    assert len(pm.marks) == len(pm.half) == len(pm.voiced)
    assert len(pm.marks) > 0
    assert np.all(np.diff(pm.marks) > 0)
    assert pm.marks[0] >= 0 and pm.marks[-1] < n
    assert np.all(pm.half >= 2)
    # a voiced mark lies in a voiced frame of the track
    frame = np.minimum((pm.marks / rate / 0.005 + 0.5).astype(int), len(track) - 1)
    assert np.all(track[frame[pm.voiced]] > 0)
    # and no stretch of the signal is left without marks: inside a run at most a step of
    # 1.25 periods, after it a period and a 5 ms hop; before a run, the unvoiced hops stop
    # half a hop short of its first mark, so the last unvoiced mark lies up to 1.5 hops
    # before it (that first grain's window reaches back up to two periods and the unvoiced
    # one a hop: covered below 800 Hz)
    gap = np.diff(np.concatenate([pm.marks, [n]]))
    uv = max(2, int(round(psola.UNVOICED_HOP_S * rate)))
    assert gap.max() <= max(rate / f0 * 1.25 + uv + 2, uv + uv // 2)
