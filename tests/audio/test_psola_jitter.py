"""PSOLA's added jitter: consecutive cycles alternate long and short by the requested amount,
so the local jitter (mean difference of consecutive periods over the mean period, Praat's
definition) moves by twice it.  Measured on the output's pulses directly: on a synthetic
vowel this regular, Praat's own pulse finder locks in places on the doubled period that an
exact alternation makes (on real speech, ``test_controls_praat`` judges older with Praat)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from robustness import corpus

from stepedit_app.audio import psola


def _vowel(rate: int, f0: float) -> np.ndarray:
    """An impulse train through two resonators, its periods varying by 0.1 %."""
    n = rate
    x = np.zeros(n)
    x[corpus.pulse_train(n, rate, f0, 0.001, np.random.default_rng(3))] = 1.0
    x = corpus.resonate(x, rate, ((700, 80), (1200, 90)))
    return 0.3 * x / np.abs(x).max()


def _local_jitter(y: np.ndarray, rate: int, f0: float) -> tuple[float, float]:
    """(local jitter, share of consecutive period changes that flip sign) of ``y``'s pulses."""
    pk, _ = scipy.signal.find_peaks(y, height=0.5 * y.max(), distance=int(0.7 * rate / f0))
    periods = np.diff(pk[2:-2]).astype(float)
    d = np.diff(periods)
    return float(np.mean(np.abs(d)) / np.mean(periods)), float(np.mean(np.sign(d[1:]) != np.sign(d[:-1])))


@pytest.mark.parametrize(("rate", "amount"), [(48000, 0.0), (48000, 0.01), (48000, 0.02), (16000, 0.0), (16000, 0.02)])
def test_added_jitter_alternates_and_moves_local_jitter_by_twice_it(rate, amount):
    f0 = 150.0
    x = _vowel(rate, f0)
    n = len(x)
    pm = psola.pitch_marks(x, rate, np.full(n // (rate // 200) + 1, f0), 5.0)
    y = psola.synthesize(x[None, :], rate, pm, n, np.arange(n, dtype=float), np.full(n, rate / f0),
                         np.full(n, amount), None, 0, np.ones(n))[0]
    base, _ = _local_jitter(x, rate, f0)
    got, flips = _local_jitter(y, rate, f0)
    # synthesis marks fall on whole samples, so each period's alternation is rounded: up to
    # one sample between consecutive periods (why small amounts at 16 kHz are not tested)
    tol = f0 / rate + 0.1 * amount
    assert got == pytest.approx(max(2 * amount, base), abs=tol)
    if amount >= 0.01:
        assert flips > 0.9  # long, short, long, ...
