"""Onset sharpening (angry's harder attacks): a boost right after syllable onsets, nothing on
steady sound, in pauses or where the control is off."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stepedit_app.audio.dynamics import onset_gain_db

RATE = 16000


def _bursts() -> np.ndarray:
    """Three 200 ms tone bursts over a quiet noise floor."""
    t = np.arange(RATE) / RATE
    env = np.zeros(RATE)
    for s in (0.1, 0.45, 0.75):
        env[int(s * RATE) : int((s + 0.2) * RATE)] = 1.0
    return 0.3 * env * np.sin(2 * np.pi * 150 * t) + 1e-4 * np.random.default_rng(0).standard_normal(RATE)


def test_onsets_get_the_boost_and_the_body_and_pauses_do_not():
    x = _bursts()
    g = onset_gain_db(x, RATE, np.full(RATE, 5.0))
    for s in (0.1, 0.45, 0.75):
        at = g[int((s + 0.005) * RATE) : int((s + 0.025) * RATE)]
        body = g[int((s + 0.12) * RATE) : int((s + 0.19) * RATE)]
        assert at.max() > 4.0 and body.max() < 0.5
    assert g[int(0.33 * RATE) : int(0.43 * RATE)].max() < 0.1  # the pause between bursts


def test_a_steady_tone_and_a_zero_amount_change_nothing():
    t = np.arange(RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    g = onset_gain_db(tone, RATE, np.full(RATE, 5.0))
    assert g[int(0.1 * RATE) :].max() < 0.1
    assert not np.any(onset_gain_db(_bursts(), RATE, np.zeros(RATE)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3 * RATE // 2), st.floats(0.0, 12.0), st.integers(0, 2**31 - 1))
def test_the_gain_is_finite_bounded_and_as_long_as_the_input(n, amount, seed):
    x = np.random.default_rng(seed).standard_normal(n) * np.repeat(np.random.default_rng(seed).uniform(0, 1, n // 800 + 1), 800)[:n]
    g = onset_gain_db(x, RATE, np.full(n, amount))
    assert g.shape == (n,)
    assert np.all(np.isfinite(g)) and np.all(g >= 0.0) and np.all(g <= amount + 1e-9)
