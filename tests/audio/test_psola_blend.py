"""PSOLA's voiced grains blend the two source periods nearest the time they map to
(``psola.INTERPOLATE_GRAINS``): a tempo or pitch change moves through the source's periods
gradually instead of repeating or skipping whole ones.

Judged on a pulse train whose every period is a little louder than the last: copying the
nearest period, the output's periods grow in uneven steps (a skipped period doubles a step, a
repeated one makes it zero); blended, every step is the same.  On real recordings the
DistillMOS figures are in ``benchmarks/README.md`` ("Blended grains")."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from stepedit_app.audio import psola

RATE = 16000
P = 100  # samples per period (160 Hz)
N = 160  # periods
GROWTH = 0.005  # each period this much louder than the last


def _pulse_train() -> tuple[np.ndarray, psola.PitchMarks]:
    t = np.arange(60)
    pulse = np.exp(-t / 12.0) * np.sin(2 * np.pi * 700 * t / RATE + 0.3)
    pulse /= pulse.max()  # peaks 1 + GROWTH * n
    x = np.zeros(N * P + P)
    marks = []
    for n in range(N):
        x[n * P : n * P + len(pulse)] += (1.0 + GROWTH * n) * pulse
        marks.append(n * P + 2)
    pm = psola.PitchMarks(np.asarray(marks), np.full(N, P), np.ones(N, dtype=bool))
    return x, pm


def _period_peaks(y: np.ndarray, period: float) -> np.ndarray:
    idx, _ = scipy.signal.find_peaks(y, distance=int(0.8 * period))
    peaks = y[idx]
    return peaks[(peaks > 0.5 * peaks.max())][3:-3]  # away from both ends


@pytest.mark.parametrize("tempo,ratio", [(0.8, 1.0), (1.3, 1.0), (1.0, 1.25), (1.0, 0.85), (0.9, 1.15)])
@pytest.mark.parametrize("blend", [True, False])
def test_periods_evolve_evenly_under_a_tempo_or_pitch_change(monkeypatch, tempo, ratio, blend):
    monkeypatch.setattr(psola, "INTERPOLATE_GRAINS", blend)
    x, pm = _pulse_train()
    n_in = (N - 2) * P
    out_len = int(n_in * tempo)
    out_to_in = np.arange(out_len) / tempo
    y = psola.synthesize(x[None, :], RATE, pm, out_len, out_to_in, np.full(out_len, P / ratio),
                         pitch_ratio=np.full(out_len, ratio))[0]
    steps = np.diff(_period_peaks(y, P / ratio))
    expected = GROWTH * (1 / ratio) / tempo  # the growth per output period
    assert len(steps) > 60
    # (on a raised pitch the window-sum normalisation scales every peak alike, by ~0.85 here)
    assert np.mean(steps) == pytest.approx(expected, rel=0.2)
    spread = (np.max(steps) - np.min(steps)) / expected
    if blend:
        assert spread < 0.1, np.round(steps / expected, 2)
    else:
        # the nearest period alone: steps of 0, 1 and 2 source periods' growth
        assert spread > 0.7, np.round(steps / expected, 2)


def test_an_identity_edit_is_untouched_by_blending(monkeypatch):
    """At the source's own marks every weight is 0: the pulse train comes back as it was."""
    x, pm = _pulse_train()
    n = (N - 2) * P
    outs = []
    for blend in (True, False):
        monkeypatch.setattr(psola, "INTERPOLATE_GRAINS", blend)
        outs.append(psola.synthesize(x[None, :n], RATE, pm, n, np.arange(n, dtype=float), np.full(n, float(P)),
                                     pitch_ratio=np.ones(n))[0])
    assert np.array_equal(outs[0], outs[1])
    assert np.max(np.abs(outs[0] - x[:n])) < 1e-9


def test_no_blending_where_the_edit_asks_for_a_rougher_voice(monkeypatch):
    """Jitter or shimmer requested (older): the grains are the source's own periods, so the
    voice's own cycle-to-cycle variation stays under the added one (blended, older's Praat
    shimmer fell at every intensity on 6 of 28 real clips)."""
    x, pm = _pulse_train()
    n_in = (N - 2) * P
    out_len = int(n_in * 1.1)
    out_to_in = np.arange(out_len) / 1.1
    rough = np.full(out_len, 0.01)
    outs = {}
    for blend in (True, False):
        monkeypatch.setattr(psola, "INTERPOLATE_GRAINS", blend)
        for kind in ("jitter", "shimmer_db"):
            outs[blend, kind] = psola.synthesize(x[None, :], RATE, pm, out_len, out_to_in, np.full(out_len, P / 1.1),
                                                 pitch_ratio=np.full(out_len, 1.1), **{kind: rough})[0]
    for kind in ("jitter", "shimmer_db"):
        assert np.array_equal(outs[True, kind], outs[False, kind]), kind
